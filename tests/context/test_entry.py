"""The fast entry for ``ccw pack`` (no Typer) and the memo of the cache settings (no
pydantic): the same arguments, output, errors and settings as the Typer command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ccw.cli import pack_cmd, pack_run
from ccw.cli.app import app
from ccw.cli.entry import OPTIONS, parse_pack
from ccw.cli.pack_run import PackArgs
from ccw.context.settings import MEMO_NAME, CacheSettings, cache_settings, layer_files

from .conftest import write_tree
from .test_cli import CONFIG, configure

# Reports, when the process ends, which heavy modules it imported.
ENTRY = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write("
    "'LOADED=' + ','.join(m for m in ('typer', 'pydantic') if m in sys.modules) + '\\n'))\n"
    "sys.argv[0] = 'ccw'\n"
    "from ccw.cli.entry import main\n"
    "main()\n"
)


def run_entry(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def loaded(process: subprocess.CompletedProcess[str]) -> str:
    line = next(line for line in process.stderr.splitlines() if line.startswith("LOADED="))
    return line.removeprefix("LOADED=")


def without_loaded(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith("LOADED="))


def typer_args(args: list[str], monkeypatch: pytest.MonkeyPatch) -> PackArgs:
    """What the Typer command hands to ``run_pack`` for ``ccw pack ARGS``."""
    seen: list[PackArgs] = []
    monkeypatch.setattr(pack_run, "run_pack", lambda parsed, explicit: seen.append(parsed))
    outcome = CliRunner().invoke(app, ["pack", *args])
    assert outcome.exit_code == 0, outcome.output
    (parsed,) = seen
    return parsed


@pytest.mark.parametrize(
    "args",
    [
        ["src/**/*.py"],
        ["@README.md", "!tests/**", "--format", "markdown", "-o", "out.xml"],
        ["a", "--max-files=3", "--max-size-kb", "12", "b", "--no-cache", "--json"],
        ["--include-dirs", "x,y", "--include-dirs=z", "--tokens", "exact", "a"],
        ["a", "--on-overflow", "fail", "--allow-secrets", "--no-exclude-dirs", "--dry-run"],
        ["a", "--allow-empty", "--endpoint", "e1", "--output=o.txt", "--format=plain"],
        ["--", "--not-an-option", "-o"],
        ["a", "--format", "xml", "--format", "plain"],
    ],
)
def test_fast_parse_equals_typer(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_pack(args) == typer_args(args, monkeypatch)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        ["-h"],
        ["a", "--max-files", "0"],
        ["a", "--max-files", "-3"],
        ["a", "--max-size-kb", "many"],
        ["a", "--unknown"],
        ["a", "-oout.xml"],
        ["a", "--format"],
        ["a", "--json=yes"],
        ["a", "--format", "--json"],
    ],
)
def test_anything_not_plain_goes_to_typer(args: list[str]) -> None:
    assert parse_pack(args) is None


def test_option_table_is_the_commands_options() -> None:
    """Every option the Typer command declares is in the fast table, flag or not, and
    nothing else is: a new option cannot be silently ignored by the fast entry."""
    holder = typer.Typer(add_completion=False)  # as the app builds it
    pack_cmd.register(holder)
    command = typer.main.get_command(holder)
    declared = {
        name: ("flag" if param.is_flag else "value")  # type: ignore[attr-defined]
        for param in command.params
        if param.param_type_name == "option"
        for name in param.opts
    }
    table = {name: ("flag" if kind == "flag" else "value") for name, (_, kind) in OPTIONS.items()}
    assert table == declared


@pytest.fixture
def small(project: Path, tmp_path: Path) -> Path:
    write_tree(project, {"src/a.py": "a = 1\n", "README.md": "readme\n", "big.txt": "x" * 3000})
    configure(project, tmp_path / "cache")
    return project


def test_fast_entry_packs_like_typer_without_typer_or_pydantic(
    small: Path, ccw_env: dict[str, str]
) -> None:
    args = ["src/**/*.py", "README.md", "--format", "markdown", "--no-cache"]
    first = run_entry(small, ccw_env, "pack", *args)
    typed = subprocess.run(
        [sys.executable, "-m", "ccw", "pack", *args],
        cwd=small,
        env=ccw_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    second = run_entry(small, ccw_env, "pack", *args)
    assert typed.returncode == first.returncode == second.returncode == 0
    assert "## src/a.py" in typed.stdout
    assert first.stdout == second.stdout == typed.stdout
    assert without_loaded(second.stderr) == typed.stderr.rstrip("\n")
    assert loaded(first) == "pydantic"  # the config validated once, its settings kept
    assert loaded(second) == ""


def test_fast_entry_errors_like_typer(small: Path, ccw_env: dict[str, str]) -> None:
    typed = subprocess.run(
        [sys.executable, "-m", "ccw", "pack", "missing.py"],
        cwd=small,
        env=ccw_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    fast = run_entry(small, ccw_env, "pack", "missing.py")
    assert typed.returncode == fast.returncode == 2
    assert "error: pattern 'missing.py' matched no file" in typed.stderr
    assert without_loaded(fast.stderr) == typed.stderr.rstrip("\n")


def test_fast_entry_hands_help_and_bad_values_to_typer(
    small: Path, ccw_env: dict[str, str]
) -> None:
    shown = run_entry(small, ccw_env, "pack", "--help")
    assert shown.returncode == 0 and "--max-files" in shown.stdout
    bad = run_entry(small, ccw_env, "pack", "a", "--max-files", "0")
    assert bad.returncode == 2 and "--max-files" in bad.stderr
    assert loaded(bad).startswith("typer")


def test_memo_follows_every_config_change(
    small: Path, tmp_path: Path, ccw_env: dict[str, str]
) -> None:
    """A changed setting is used at once; a broken file is the config error it always was,
    and fixing it is seen too."""
    first = run_entry(small, ccw_env, "pack", "src/a.py")
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "cache" / "context.db").exists()
    configure(small, tmp_path / "other-cache", enabled=True)
    moved = run_entry(small, ccw_env, "pack", "src/a.py")
    assert moved.returncode == 0 and loaded(moved) == "pydantic"
    assert (tmp_path / "other-cache" / "context.db").exists()
    config = small / CONFIG
    config.write_text(config.read_text().replace('"maxTotalSizeMB": 10', '"maxTotalSizeMB": -1'))
    broken = run_entry(small, ccw_env, "pack", "src/a.py")
    assert broken.returncode == 3, broken.stderr
    assert "maxTotalSizeMB" in broken.stderr and "greater than 0" in broken.stderr
    configure(small, tmp_path / "third-cache", enabled=False)
    off = run_entry(small, ccw_env, "pack", "src/a.py")
    assert off.returncode == 0 and not (tmp_path / "third-cache").exists()


def test_memo_holds_no_key(small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = small / CONFIG
    data: dict[str, Any] = json.loads(config.read_text())
    data["providers"][0]["apiKey"] = "sk-literal-key-0123456789"
    data["providers"][0]["customHeaders"] = {"X-Token": "header-value-4242"}
    config.write_text(json.dumps(data))
    monkeypatch.chdir(small)
    monkeypatch.delenv("CCW_CONFIG", raising=False)
    settings = cache_settings()
    assert settings == CacheSettings(True, str(tmp_path / "cache"), 10, None)
    memo = (tmp_path / "data" / MEMO_NAME).read_text()
    assert "sk-literal" not in memo and "4242" not in memo and "X-Token" not in memo
    assert cache_settings() == settings  # from the memo this time


def test_layer_files_are_the_layers_read(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ccw.config.layers import LayeredConfig

    monkeypatch.chdir(small)
    monkeypatch.delenv("CCW_CONFIG", raising=False)
    assert layer_files() == [layer.store.path for layer in LayeredConfig.open().layers]
    alone = small / "alone.json"
    assert layer_files(alone) == [layer.store.path for layer in LayeredConfig.open(alone).layers]
