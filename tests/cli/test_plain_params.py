"""Plain option values skip Typer's pydantic adapters; other values keep Typer's coercion."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import RunCcw

# Runs ccw's entry point in-process and reports afterwards whether Typer built any pydantic
# adapter for a parameter (its ``_adapters`` module is imported only for that), and whether
# pydantic scanned the installed distributions for plugins.
PROBE = """
import sys
from ccw.cli.app import main
sys.argv = ["ccw", *sys.argv[1:]]
try:
    main()
finally:
    sys.stderr.write(f"\\nADAPTERS={'typer._adapters' in sys.modules}\\n")
    loader = sys.modules.get("pydantic.plugin._loader")
    sys.stderr.write(f"PLUGINS_SCANNED={getattr(loader, '_plugins', None) is not None}\\n")
"""


def probe(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_plain_values_build_no_adapter(project: Path, ccw_env: dict[str, str]) -> None:
    (project / "src").mkdir()
    (project / "src" / "a.py").write_text("print('a')\n")
    (project / "b.md").write_text("# b\n")
    out = project / "out.txt"
    done = probe(
        project,
        ccw_env,
        "pack",
        "src/*.py",
        "@b.md",
        "--max-files",
        "5",
        "--max-size-kb",
        "+64",
        "--format",
        "plain",
        "--include-dirs",
        "src",
        "--no-cache",
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "ADAPTERS=False" in done.stderr
    # ccw uses no pydantic plugin: the config is validated without scanning for them.
    assert "PLUGINS_SCANNED=False" in done.stderr
    text = out.read_text()
    assert "FILE: src/a.py" in text and "FILE: b.md" in text
    assert "2 files" in done.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "Input should be a valid integer, unable to parse string as an integer"),
        ("1.5", "Input should be a valid integer"),
        ("0", "Input should be greater than or equal to 1"),
    ],
)
def test_other_values_keep_typers_message(
    project: Path, ccw_env: dict[str, str], value: str, message: str
) -> None:
    (project / "a.txt").write_text("a\n")
    done = probe(project, ccw_env, "pack", "a.txt", "--max-files", value)
    assert done.returncode == 2
    assert "Invalid value for '--max-files'" in done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert "ADAPTERS=True" in done.stderr


def test_help_and_sub_commands_still_work(run_ccw: RunCcw) -> None:
    assert "--max-files" in run_ccw("pack", "--help").stdout
    listed = run_ccw("cache", "stats", "--json")
    assert listed.returncode == 0, listed.stderr
    assert '"entries"' in listed.stdout
