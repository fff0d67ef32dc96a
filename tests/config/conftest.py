"""Helpers for the config tests: the project's config file, the spec's example, checked runs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

CONFIG_RELATIVE = Path(".ccw") / "storage" / "config" / "litellm-api-config.json"
SPEC_EXAMPLE_TEXT = (Path(__file__).parent / "spec_example.json").read_text(encoding="utf-8")
SPEC_PROVIDER = "openai-1234567890"
SPEC_ENDPOINT = "my-gpt4o"
SECRET = "sk-test-SECRET-abcdef1234567890"


def spec_example() -> dict[str, Any]:
    """A fresh copy of the example JSON from the spec's "Configuration Structure"."""
    data: dict[str, Any] = json.loads(SPEC_EXAMPLE_TEXT)
    return data


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """Assert the command succeeded without a traceback; returns it for chaining."""
    assert result.returncode == 0, f"rc={result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    return result


def ok_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(result).stdout)


def user_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Assert one readable error message (no traceback) holding every needle; returns stderr."""
    err = result.stderr
    assert result.returncode != 0, f"expected failure\n{result.stdout}\n{err}"
    assert "Traceback" not in err, err
    assert err.count("error:") == 1, err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"
    return err


@pytest.fixture
def config_file(project: Path) -> Path:
    """Where the project's config lives (not created)."""
    return project / CONFIG_RELATIVE


@pytest.fixture
def spec_file(config_file: Path) -> Path:
    """The project's config file holding the spec's example, byte for byte."""
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(SPEC_EXAMPLE_TEXT, encoding="utf-8")
    return config_file
