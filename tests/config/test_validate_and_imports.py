"""``ccw config validate``, and config commands that stay light: litellm is never imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.config.conftest import SPEC_ENDPOINT, ok, spec_example, user_error, write_json
from tests.conftest import RunCcw


def test_validate_accepts_a_good_file_and_names_a_missing_provider(
    run_ccw: RunCcw, config_file: Path
) -> None:
    assert "no config file yet" in ok(run_ccw("config", "validate")).stderr
    assert not config_file.exists()

    write_json(config_file, spec_example())
    assert "is valid" in ok(run_ccw("config", "validate")).stderr

    broken = spec_example()
    broken["endpoints"][0]["providerId"] = "ghost-provider"
    write_json(config_file, broken)
    before = config_file.read_bytes()
    done = run_ccw("config", "validate")
    user_error(done, str(config_file), SPEC_ENDPOINT, "ghost-provider")
    assert done.returncode == 3
    assert config_file.read_bytes() == before


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("provider", "list"),
        ("config", "path"),
        ("config", "show"),
        ("endpoint", "list", "--json"),
    ],
    ids=lambda args: " ".join(args),
)
def test_config_commands_never_import_litellm(
    args: tuple[str, ...], project: Path, ccw_env: dict[str, str]
) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ccw", *args],
        cwd=project,
        env=ccw_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    imported = [
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    ]
    assert "ccw.cli.app" in imported  # the measurement saw ccw's own imports
    assert [name for name in imported if name.split(".")[0] == "litellm"] == []
