"""Stand-in tools on PATH: ``tests/tools/bin/{gemini,qwen,codex,claude}``."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

BIN = Path(__file__).parent / "bin"


def fake_path(*first: Path) -> str:
    """PATH with the stand-ins first and this interpreter's ``python3`` right after."""
    return os.pathsep.join(
        [*map(str, first), str(Path(sys.executable).parent), os.environ.get("PATH", "")]
    )


@pytest.fixture
def record_file(tmp_path: Path) -> Path:
    return tmp_path / "tool-record.json"


@pytest.fixture
def tool_env(record_file: Path) -> dict[str, str]:
    """Environment additions that put the stand-ins on PATH and name the record file."""
    return {"PATH": fake_path(BIN), "FAKE_TOOL_RECORD": str(record_file)}


@pytest.fixture
def recorded(record_file: Path) -> Callable[[], dict[str, Any]]:
    """What the stand-in saw: argv, stdin, cwd, pid."""

    def load() -> dict[str, Any]:
        data: dict[str, Any] = json.loads(record_file.read_text(encoding="utf-8"))
        return data

    return load
