"""Output that fits a terminal: every list at 80 columns on a (pseudo-)terminal and piped, with
every id and path whole; ``--help`` of every command with plain metavars and whole summaries."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import tempfile
import termios
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ccw.cli import tables
from ccw.cli.app import app
from tests.cli.conftest import endpoint, provider, write_config
from tests.conftest import RunCcw

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LONG_PROVIDER = "a-provider-id-long-enough-to-crowd-the-table"
LONG_ENDPOINT = "an-endpoint-id-that-is-long-enough-to-crowd-a-table"
LONG_BASE = "https://very-long-hostname.internal.example.com/api/openai/v1"
LONG_FILE = "src/a_module_with_a_name_that_is_long_enough_to_matter.py"


def run_on_terminal(
    args: list[str], env: dict[str, str], cwd: Path, columns: int = 80
) -> tuple[int, str]:
    """Run ``ccw ARGS`` with stdout on a pseudo-terminal ``columns`` wide; (status, text)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ccw", *args],
            cwd=cwd,
            env={**env, "COLUMNS": str(columns)},
            stdin=subprocess.DEVNULL,
            stdout=follower,
            stderr=errors,
        )
        os.close(follower)
        chunks: list[bytes] = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the other end is closed
                break
            if not data:
                break
            chunks.append(data)
        os.close(leader)
        status = proc.wait(timeout=60)
    text = b"".join(chunks).decode("utf-8").replace("\r\n", "\n")
    return status, ANSI.sub("", text)


@pytest.fixture
def tty(project: Path, ccw_env: dict[str, str]) -> Any:
    def run(*args: str, columns: int = 80) -> str:
        status, text = run_on_terminal(list(args), ccw_env, project, columns)
        assert status == 0, text
        return text

    return run


@pytest.fixture
def piped(run_ccw: RunCcw) -> Any:
    def run(*args: str) -> list[list[str]]:
        done = run_ccw(*args, env={"COLUMNS": "80"})
        assert done.returncode == 0, done.stderr
        return [line.split("\t") for line in done.stdout.splitlines()]

    return run


@pytest.fixture
def crowded(project: Path) -> Path:
    """A project whose provider, endpoint, base URL and file names are long."""
    (project / "src").mkdir()
    (project / LONG_FILE).write_text("print('long')\n")
    (project / "src" / "b.py").write_text("b = 2\n")
    return write_config(
        project,
        {
            "providers": [provider(LONG_PROVIDER, "openai", LONG_BASE, apiKey="${NO_SUCH_KEY}")],
            "endpoints": [endpoint(LONG_ENDPOINT, LONG_PROVIDER), endpoint("short", LONG_PROVIDER)],
            "defaultEndpoint": LONG_ENDPOINT,
        },
    )


def _whole_on_every_line(text: str, words: list[str]) -> None:
    for word in words:
        assert word in text, f"{word!r} is cut or missing in:\n{text}"


def _fits(text: str, columns: int = 80) -> None:
    too_wide = [line for line in text.splitlines() if len(line.rstrip()) > columns]
    assert not too_wide, too_wide


# Lists through the real CLI.


@pytest.mark.usefixtures("crowded")
def test_provider_and_endpoint_lists_keep_ids_whole(tty: Any, piped: Any) -> None:
    shown = tty("provider", "list")
    _whole_on_every_line(shown, [LONG_PROVIDER, LONG_BASE, "local"])
    assert [row[0] for row in piped("provider", "list")] == [LONG_PROVIDER, "local"]
    shown = tty("endpoint", "list")
    _whole_on_every_line(shown, [LONG_ENDPOINT, LONG_PROVIDER, "short"])
    assert {LONG_ENDPOINT, "short", "local"} <= {
        c for row in piped("endpoint", "list") for c in row
    }


@pytest.mark.usefixtures("crowded")
def test_a_record_is_key_value_lines_never_a_python_repr(tty: Any, piped: Any) -> None:
    shown = tty("endpoint", "show", LONG_ENDPOINT)
    assert "{'" not in shown and "':" not in shown, shown
    _whole_on_every_line(shown, [LONG_ENDPOINT, LONG_PROVIDER])
    rows = piped("endpoint", "show", LONG_ENDPOINT)
    assert all(len(row) == 2 for row in rows), rows
    assert not any(row[1].startswith(("{", "[")) for row in rows), rows


@pytest.mark.usefixtures("crowded")
def test_cache_lists_keep_ids_and_paths_whole(tty: Any, piped: Any, run_ccw: RunCcw) -> None:
    for pattern in ("src/*.py", "src/a_*.py", "src/b.py"):
        assert run_ccw("pack", pattern, "-o", os.devnull).returncode == 0
    entries = json.loads(run_ccw("cache", "list", "--json").stdout)
    ids = [entry["id"] for entry in entries]
    assert len(ids) == 3

    shown = tty("cache", "list")
    _whole_on_every_line(shown, ids)
    _fits(shown)
    header = next(line for line in shown.splitlines() if line.startswith("id "))
    assert header.split() == ["id", "patterns", "files", "bytes", "accessed", "expires"], shown
    listed = piped("cache", "list")
    assert [row[0] for row in listed] == ids, listed  # no header, no title

    narrow = tty("cache", "list", columns=40)  # too narrow for a table: one block per entry
    _whole_on_every_line(narrow, ids)
    blocks = [line.split()[1] for line in narrow.splitlines() if line.startswith("id ")]
    assert blocks == ids, narrow

    first = next(e for e in entries if e["patterns"] == ["src/*.py"])["id"]
    _whole_on_every_line(tty("cache", "show", first), [LONG_FILE])
    files = piped("cache", "show", first)
    assert [row[0] for row in files] == [LONG_FILE, "src/b.py"], files


def test_cache_stats_are_key_value_lines(tty: Any, piped: Any, run_ccw: RunCcw) -> None:
    data = json.loads(run_ccw("cache", "stats", "--json").stdout)
    pairs = dict(piped("cache", "stats"))  # type: ignore[arg-type]
    assert list(pairs) == [
        "enabled", "entries", "expired", "size", "limit", "hits", "misses", "hit rate", "dir",
    ]  # fmt: skip
    assert pairs["entries"] == str(data["entries"]) and pairs["dir"] == data["cacheDir"]
    shown = tty("cache", "stats").splitlines()
    assert [line.split()[0] for line in shown] == [
        "enabled", "entries", "expired", "size", "limit", "hits", "misses", "hit", "dir",
    ]  # fmt: skip
    assert shown[-1].split(maxsplit=1)[1] == data["cacheDir"]


@pytest.mark.usefixtures("crowded")
def test_dry_run_file_table_keeps_paths_whole(tty: Any) -> None:
    shown = tty("cli", "-p", "Explain @src/*.py", "--dry-run")
    _whole_on_every_line(shown, [LONG_FILE, "src/b.py"])


def test_history_keeps_call_ids_whole(tty: Any, piped: Any, run_ccw: RunCcw, project: Path) -> None:
    from tests.tools.conftest import BIN, fake_path

    env = {"PATH": fake_path(BIN)}
    long_id = "a-call-named-with-an-id-long-enough-to-crowd-the-history"
    for call_id in (long_id, "short-id"):
        done = run_ccw("cli", "-p", "a prompt " * 20, "--tool", "gemini", "--id", call_id, env=env)
        assert done.returncode == 0, done.stderr
    _whole_on_every_line(tty("cli", "history"), [long_id, "short-id"])
    assert [row[0] for row in piped("cli", "history")] == ["short-id", long_id]


@pytest.mark.usefixtures("crowded")
def test_piped_messages_are_never_broken_to_a_width(run_ccw: RunCcw) -> None:
    assert run_ccw("pack", "src/*.py", "-o", os.devnull).returncode == 0
    entry = json.loads(run_ccw("cache", "list", "--json").stdout)[0]["id"]
    shown = run_ccw("cache", "show", entry, env={"COLUMNS": "40"})
    assert shown.returncode == 0, shown.stderr
    summary = shown.stderr.strip()
    assert "\n" not in summary and summary.startswith(f"{entry} (src/*.py): 2 files, ")
    plan = run_ccw("cli", "-p", "Explain @src/*.py", "--dry-run", env={"COLUMNS": "40"})
    assert any(
        LONG_ENDPOINT in line and "Nothing was sent" in line for line in plan.stdout.splitlines()
    )


def test_keys_list_keeps_names_whole(tty: Any, piped: Any, run_ccw: RunCcw) -> None:
    name = "A_KEY_NAME_LONG_ENOUGH_TO_CROWD_THE_KEY_TABLE_AT_EIGHTY"
    assert run_ccw("keys", "set", name, input="sk-test-abcdefghijklmnop1234").returncode == 0
    _whole_on_every_line(tty("keys", "list"), [name])
    assert piped("keys", "list") == [[name, "sk-…1234", "yes"]]


# ``--help`` of every command, in process, and the root through the real CLI.


def _command_paths() -> Iterator[list[str]]:
    root = typer.main.get_command(app)

    def walk(command: Any, path: list[str]) -> Iterator[list[str]]:
        yield path
        if hasattr(command, "list_commands"):
            ctx = command.make_context(path[-1] if path else "ccw", [], resilient_parsing=True)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None and not sub.hidden:
                    yield from walk(sub, [*path, name])

    yield from walk(root, [])


COMMAND_PATHS = list(_command_paths())
TYPE_LABEL = re.compile(r"<[a-z][\w\[\] |,]*>")  # typer's <str>, <int range>, <list[str]>
BRACES = re.compile(r"(?<!\$)\{")  # typer's {ID} for a required argument; ${VAR} is text


def test_every_command_is_reached() -> None:
    names = {" ".join(path) for path in COMMAND_PATHS}
    assert {"", "cli", "cli history", "pack", "serve", "cache stats", "provider add"} <= names
    assert len(names) > 25


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda p: " ".join(p) or "ccw")
def test_help_has_plain_metavars_and_whole_summaries(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    text = result.output
    assert not TYPE_LABEL.search(text), TYPE_LABEL.findall(text)
    assert not BRACES.search(text), text
    _fits(text)
    if "\nCommands:\n" in text:
        listing = text.split("\nCommands:\n", 1)[1]
        assert "…" not in listing and "..." not in listing, listing


def test_root_help_through_the_real_cli(run_ccw: RunCcw) -> None:
    done = run_ccw("--help", env={"COLUMNS": "80"})
    assert done.returncode == 0
    listing = done.stdout.split("\nCommands:\n", 1)[1]
    summaries = " ".join(listing.split())
    assert "Send a prompt (with @file patterns) to an endpoint or a CLI tool." in summaries
    assert "--config FILE" in done.stdout


# The layouts, in process.


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Any:
    def at(columns: int) -> None:
        monkeypatch.setenv("TTY_COMPATIBLE", "1")
        monkeypatch.setenv("COLUMNS", str(columns))
        monkeypatch.setenv("NO_COLOR", "1")
        monkeypatch.delenv("FORCE_COLOR", raising=False)

    return at


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [ANSI.sub("", line).rstrip() for line in capsys.readouterr().out.splitlines()]


def test_a_wrapping_column_gives_up_width_between_words(
    terminal: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal(40)
    words = "alpha beta gamma delta epsilon zeta eta theta"
    tables.table(None, ["id", "text"], [["call-0123456789abcdef", words]], wrap=("text",))
    lines = _lines(capsys)
    assert lines[0].split() == ["id", "text"]
    assert lines[1].startswith("call-0123456789abcdef  alpha")
    assert len(lines) > 2  # it wrapped, between words
    assert " ".join(line[23:] for line in lines[1:]).split() == words.split()
    assert all(len(line) <= 40 for line in lines)


def test_a_clipped_column_is_cut_with_an_ellipsis_and_ids_are_not(
    terminal: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal(50)
    prompt = "word " * 30
    tables.table(None, ["id", "prompt"], [["call-0123456789abcdef", prompt]], clip=("prompt",))
    lines = _lines(capsys)
    assert len(lines) == 2
    assert lines[1].startswith("call-0123456789abcdef  word") and lines[1].endswith("…")
    assert len(lines[1]) <= 50


def test_numbers_are_right_aligned(terminal: Any, capsys: pytest.CaptureFixture[str]) -> None:
    terminal(80)
    tables.table(None, ["file", "bytes"], [["a.py", "9"], ["b.py", "12,345"]])
    lines = _lines(capsys)
    assert lines[1].endswith("     9") and lines[2].endswith("12,345")


def test_piped_cells_stay_on_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    tables.table("Title", ["id", "note"], [["x", "two\nlines\tand a tab"]])
    assert capsys.readouterr().out == "x\ttwo lines and a tab\n"


def test_flatten_writes_nested_values_as_text() -> None:
    data = {"id": "e", "cacheStrategy": {"enabled": True, "filePatterns": ["*.py", "*.md"]}}
    assert tables.flatten(data) == [
        ("id", "e"),
        ("cacheStrategy.enabled", "yes"),
        ("cacheStrategy.filePatterns", "*.py, *.md"),
    ]
    assert tables.text_of(None) == tables.text_of([]) == "-"
    assert tables.text_of({"a": 1}) == "a=1"
