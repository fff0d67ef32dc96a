"""The fast entry for ``ccw cli`` (``ccw.cli.warm_fast``): against a warm server in front of the
test provider server it gives the full app's stdout, stderr, exit code, ``--json`` and
history without importing Typer, pydantic or Rich; every other call goes to the full app.

Each process runs through a small wrapper that writes the modules it imported to a file at
exit, so a test knows which path served it: the fast entry (``ccw.cli.entry``, no Typer)
or the full app (``ccw.cli.app``, called directly).
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ccw.cli import warm_fast as fast
from ccw.cli.status_text import status_line
from ccw.result import ExecutionResult, Usage
from tests.fakes.provider_server import DEFAULT_REPLY, ProviderServer
from tests.warm.conftest import Warm

pytestmark = pytest.mark.timeout(300)

_WRAP = (
    "import atexit, os, sys\n"
    "atexit.register(lambda: open(os.environ['CCW_TEST_MODULES'], 'w')"
    ".write('\\n'.join(sorted(sys.modules))))\n"
    "sys.argv[0] = 'ccw'\n"
    "from {module} import main\n"
    "main()\n"
)
_HEAVY = ("typer", "pydantic", "rich", "click", "litellm")
# The status line's time (``12 ms``, ``1.2 s``) is the only part that differs between runs.
_TIME = re.compile(r" · [0-9.,]+ (ms|s|min)\b")


class Ran:
    def __init__(self, done: subprocess.CompletedProcess[str], modules: set[str] | None) -> None:
        self.returncode = done.returncode
        self.stdout = done.stdout
        self.stderr = done.stderr
        self.modules = modules

    @property
    def fast(self) -> bool:
        """Served by the fast entry: no Typer (None: the full app ended the process with
        ``os._exit`` after loading LiteLLM, so no module list was written)."""
        return self.modules is not None and "typer" not in self.modules

    def shape(self) -> tuple[int, str, str]:
        return self.returncode, self.stdout, _TIME.sub(" · T", self.stderr)


@pytest.fixture
def ccw(warm_env: dict[str, str], keys: dict[str, str], project: Path, tmp_path: Path) -> Any:
    """Run ``ccw ARGS`` through the fast entry (``entry=True``) or the full app."""

    def run(
        *args: str,
        entry: bool = True,
        stdin: Any = subprocess.DEVNULL,
        env: dict[str, str] | None = None,
    ) -> Ran:
        modules = tmp_path / "modules.txt"
        modules.unlink(missing_ok=True)
        code = _WRAP.format(module="ccw.cli.entry" if entry else "ccw.cli.app")
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            cwd=project,
            env={**warm_env, **keys, "CCW_TEST_MODULES": str(modules), **(env or {})},
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return Ran(done, set(modules.read_text().split()) if modules.exists() else None)

    return run


def _history(ccw: Any) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = json.loads(ccw("cli", "history", "--json").stdout)["calls"]
    return calls


_VARYING = ("id", "conversationId", "createdAt", "durationMs")


def _same_rows(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Equal but for the call's own id, time and duration (each call opens a conversation
    named by its id)."""
    assert a["conversationId"] == a["id"] and b["conversationId"] == b["id"]
    assert {k: v for k, v in a.items() if k not in _VARYING} == {
        k: v for k, v in b.items() if k not in _VARYING
    }


@pytest.mark.parametrize(
    "args",
    [
        ("cli", "-p", "Say hello"),
        ("cli", "Say", "hello", "--model", "claude"),
        ("cli", "--prompt=Say hello", "-m", "llama", "--no-stream", "-s", "Be brief"),
    ],
)
def test_fast_and_full_paths_print_and_record_the_same(
    ccw: Any, warm: Warm, configured: Path, server: ProviderServer, args: tuple[str, ...]
) -> None:
    served = warm.calls()
    fast_run = ccw(*args)
    full_run = ccw(*args, entry=False)
    assert fast_run.fast and not full_run.fast
    assert fast_run.modules is not None and not fast_run.modules & set(_HEAVY)
    assert warm.calls() == served + 2  # both went to the warm server
    assert fast_run.returncode == 0, fast_run.stderr
    assert fast_run.stdout == DEFAULT_REPLY + "\n"
    assert fast_run.shape() == full_run.shape()
    bodies = [r.body for r in server.requests if "messages" in (r.body or {})]
    assert bodies[-1] == bodies[-2]
    first, second = _history(ccw)[:2]
    _same_rows(first, second)


def test_json_and_id_are_the_full_apps(ccw: Any, warm: Warm, configured: Path) -> None:
    fast_run = ccw("cli", "-p", "Say hello", "--json", "--id", "fast-one")
    full_run = ccw("cli", "-p", "Say hello", "--json", "--id", "full-one", entry=False)
    assert fast_run.fast and fast_run.returncode == full_run.returncode == 0
    assert fast_run.stderr == full_run.stderr == ""
    a, b = json.loads(fast_run.stdout), json.loads(full_run.stdout)
    assert a["via"] == "server" and a["output"] == DEFAULT_REPLY
    assert a.pop("id") == a.pop("conversationId") == "fast-one"
    assert b.pop("id") == b.pop("conversationId") == "full-one"
    assert {k: v for k, v in a.items() if k != "durationMs"} == {
        k: v for k, v in b.items() if k != "durationMs"
    }
    assert list(a) == list(b)  # the same keys in the same order


def test_a_failed_call_exits_and_reports_as_the_full_app(
    ccw: Any, warm: Warm, configured: Path, server: ProviderServer
) -> None:
    server.fail(401, times=1, message="Incorrect API key provided")
    fast_run = ccw("cli", "-p", "hello")
    server.fail(401, times=1, message="Incorrect API key provided")
    full_run = ccw("cli", "-p", "hello", entry=False)
    assert fast_run.fast
    assert fast_run.returncode == 10
    assert fast_run.stderr.startswith("error: ")
    assert fast_run.shape() == full_run.shape()


def test_a_user_error_raised_by_the_server_is_printed_as_the_full_app_prints_it(
    ccw: Any, warm: Warm, configured: Path
) -> None:
    fast_run = ccw("cli", "-p", "hello", "--model", "claud")
    full_run = ccw("cli", "-p", "hello", "--model", "claud", entry=False)
    assert fast_run.fast and fast_run.returncode == 4
    assert "endpoint not found: claud" in fast_run.stderr
    assert fast_run.shape() == full_run.shape()


def test_a_missing_variable_stays_unresolved_over_the_fast_path(
    ccw: Any, warm: Warm, configured: Path, server: ProviderServer
) -> None:
    """The ${VAR} values travel from the caller's environment: without them the call
    stops naming the variable, as in-process."""
    fast_run = ccw("cli", "-p", "hello", env={"TEST_OPENAI_KEY": ""})
    full_run = ccw("cli", "-p", "hello", entry=False, env={"TEST_OPENAI_KEY": ""})
    assert fast_run.fast
    assert fast_run.shape() == full_run.shape()
    assert fast_run.returncode != 0 and "TEST_OPENAI_KEY" in fast_run.stderr


def test_ccw_config_is_sent_as_the_full_app_sends_it(
    ccw: Any, warm_env: dict[str, str], project: Path, configured: Path
) -> None:
    """CCW_CONFIG is the full app's --config: the fast entry sends the same file."""
    env = {"CCW_CONFIG": str(configured)}
    served = Warm({**warm_env, **env}, project).start()
    try:
        fast_run = ccw("cli", "-p", "Say hello", "--json", env=env)
        full_run = ccw("cli", "-p", "Say hello", "--json", env=env, entry=False)
        assert served.calls() == 2
    finally:
        served.stop()
    assert fast_run.fast and fast_run.returncode == 0, fast_run.stderr
    a, b = json.loads(fast_run.stdout), json.loads(full_run.stdout)
    assert a["via"] == b["via"] == "server" and a["endpointId"] == b["endpointId"] == "gpt"


def test_a_terminal_on_stdin_takes_the_fast_path(ccw: Any, warm: Warm, configured: Path) -> None:
    main, other = pty.openpty()
    try:
        done = ccw("cli", "-p", "Say hello", stdin=other)
    finally:
        os.close(main)
        os.close(other)
    assert done.fast and done.returncode == 0 and done.stdout == DEFAULT_REPLY + "\n"


@pytest.mark.parametrize(
    "args",
    [
        ("cli", "-p", "hello", "--dry-run"),  # an option the fast entry does not read
        ("cli", "-p", "hello", "-o", "temperature", "0"),
        ("cli", "history"),  # a subcommand
        ("cli", "-p", "hello", "-p", "again"),  # a repeat: the full app decides
        ("cli", "hello", "-p", "hello"),  # words and -p: the full app's error
        ("cli",),  # no prompt
        ("cli", "--help"),
    ],
)
def test_other_forms_go_to_the_full_app(
    ccw: Any, warm: Warm, configured: Path, args: tuple[str, ...]
) -> None:
    done = ccw(*args)
    assert not done.fast
    assert done.shape() == ccw(*args, entry=False).shape()


def test_piped_input_goes_to_the_full_app(ccw: Any, warm: Warm, configured: Path) -> None:
    served = warm.calls()
    done = ccw("cli", "-p", "Summarise", stdin=subprocess.PIPE)
    assert not done.fast and done.returncode == 0, done.stderr
    assert warm.calls() == served + 1  # the full app sent it to the warm server


def test_no_server_goes_to_the_full_app(ccw: Any, configured: Path) -> None:
    done = ccw("cli", "-p", "Say hello", "--json")
    assert not done.fast and done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["via"] == "in-process"


def test_a_stale_socket_goes_to_the_full_app_which_says_why(
    ccw: Any, warm: Warm, configured: Path, runtime_dir: Path
) -> None:
    socket_file = runtime_dir / "warm.sock"
    warm.kill()
    assert socket_file.exists()
    done = ccw("cli", "-p", "Say hello")
    assert not done.fast and done.returncode == 0, done.stderr
    assert "stale socket" in done.stderr  # said by the full app, as without the fast entry


def test_another_config_goes_to_the_full_app_which_says_why(
    ccw: Any, warm: Warm, configured: Path
) -> None:
    """A caller with another CCW_CONFIG than the server's: the full app says so and runs
    the call in-process."""
    done = ccw("cli", "-p", "Say hello", "--json", env={"CCW_CONFIG": str(configured)})
    assert not done.fast and done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["via"] == "in-process"
    assert "another CCW_CONFIG" in done.stderr


def test_another_version_goes_to_the_full_app(
    ccw: Any, runtime_dir: Path, configured: Path
) -> None:
    """A server of another ccw version refuses the call: the fast entry falls through and
    the full app reports the mismatch and runs in-process."""
    from dataclasses import replace

    from ccw.warm.server import WarmServer

    listener = WarmServer(runtime_dir / "warm.sock")
    listener.identity = replace(listener.identity, version="0.0.1")
    listener.start(warm_up=False)
    try:
        done = ccw("cli", "-p", "Say hello", "--json")
    finally:
        listener.close()
    assert not done.fast and done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["via"] == "in-process"
    assert "the warm server runs ccw 0.0.1" in done.stderr
    assert listener.calls == 0


def test_warm_off_goes_to_the_full_app(ccw: Any, warm: Warm, configured: Path) -> None:
    done = ccw("cli", "-p", "Say hello", "--json", env={"CCW_WARM": "off"})
    assert not done.fast and json.loads(done.stdout)["via"] == "in-process"


# The fast in-process layer.


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-p", "hi"], fast.CliArgs(prompt="hi")),
        (["what", "is", "2+2?"], fast.CliArgs(prompt="what is 2+2?")),
        (
            ["--model=gpt", "hi", "--json", "--id", "x", "-s", "sys", "--no-stream"],
            fast.CliArgs("hi", "gpt", "sys", "x", as_json=True, no_stream=True),
        ),
    ],
)
def test_parse_cli_reads_the_plain_forms(args: list[str], expected: fast.CliArgs) -> None:
    assert fast.parse_cli(args) == expected


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["-p"],
        ["-p", "-x"],
        ["-p", ""],
        ["-"],
        ["--json=1", "hi"],
        ["-m", "a", "-m", "b", "hi"],
        ["detail", "x"],
        ["hi", "-f", "file"],
        ["-phi"],
    ],
)
def test_parse_cli_leaves_the_rest_to_the_full_app(args: list[str]) -> None:
    assert fast.parse_cli(args) is None


def test_the_option_table_is_a_subset_of_the_full_apps() -> None:
    import typer.main

    from ccw.cli.run_cmd import app

    group = typer.main.get_group(app)
    declared = {name: param for param in group.params for name in param.opts}
    for name, (_, takes_value) in fast.OPTIONS.items():
        assert name in declared, name
        assert declared[name].is_flag is not takes_value  # type: ignore[attr-defined]
    assert set(group.commands) == fast.COMMANDS


@pytest.mark.parametrize(
    ("text", "style", "label"),
    [
        ("gpt · 12 ms · 3 in / 4 out · $0.000012", "dim", None),
        ("endpoint not found: [claud]", "red", "error:"),
        ("  fix: ccw config list", None, None),
        ("tab\there", "dim", None),
        ("an emoji :smile: code", "dim", None),
        ("é ünïcode — ok", "yellow", "warning:"),
    ],
)
def test_say_writes_what_rich_writes_on_a_pipe(
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    style: str | None,
    label: str | None,
) -> None:
    from rich.console import Console
    from rich.markup import escape

    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    fast.say(text, style, label)
    ours = capfd.readouterr().err
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    if label:
        console.print(f"[{style}]{label}[/{style}] {escape(text)}")
    else:
        console.print(f"[{style}]{escape(text)}[/{style}]" if style else escape(text))
    assert ours == capfd.readouterr().err


def test_status_line_moved_with_its_text() -> None:
    result = ExecutionResult(
        success=True, endpoint_id="gpt", duration_ms=1200, usage=Usage(12, 7), cost=0.00012
    )
    assert status_line(result) == "gpt · 1.2 s · 12 in / 7 out · $0.000120"
