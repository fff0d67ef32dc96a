"""Faults of a CLI tool run: signals to ccw end the tool's whole process group, a run has a
default deadline, and a tool's reason for failing is in the error even when it is on stdout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import pytest

from ccw.errors import UsageError
from ccw.exec.tools import (
    DEFAULT_TOOL_TIMEOUT_SECONDS,
    ToolExecutor,
    ToolRequest,
    default_tool_timeout,
    run_tool,
)
from tests.conftest import RunCcw

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process groups and signals")


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may wait long for a reaper)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _gone(*pids: int, within: float = 10.0) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if not any(_running(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def reaper() -> Iterator[list[int]]:
    """Pids a test started indirectly; whatever is left of them is killed afterwards."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if _running(pid):
            os.kill(pid, signal.SIGKILL)


# Through the real CLI: a signal to ccw while codex (and a helper it forked) runs.


@pytest.mark.parametrize(
    ("signum", "status"),
    [(signal.SIGTERM, -signal.SIGTERM), (signal.SIGHUP, -signal.SIGHUP), (signal.SIGINT, 130)],
    ids=["SIGTERM", "SIGHUP", "SIGINT"],
)
def test_a_signal_to_ccw_ends_the_tools_process_group(
    signum: int,
    status: int,
    project: Path,
    ccw_env: dict[str, str],
    tool_env: dict[str, str],
    record_file: Path,
    reaper: list[int],
) -> None:
    ccw = subprocess.Popen(
        [sys.executable, "-m", "ccw", "cli", "-p", "hi", "--tool", "codex"],
        cwd=project,
        env={**ccw_env, **tool_env, "FAKE_TOOL_ACTION": "fork"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert ccw.stdout is not None
        first = ccw.stdout.readline()
        assert first.startswith("started "), first
        helper = int(first.split()[1])
        tool = json.loads(record_file.read_text(encoding="utf-8"))["pid"]
        reaper.extend([helper, tool])
        assert _running(tool) and _running(helper)
        ccw.send_signal(signum)
        _, stderr = ccw.communicate(timeout=30)
    finally:
        if ccw.poll() is None:
            ccw.kill()
            ccw.communicate()
    assert ccw.returncode == status, stderr
    assert _gone(tool, helper), "the tool or its helper outlived ccw"
    assert "Traceback" not in stderr


# In process: the same with a tool that ignores SIGTERM, and the handlers put back.


def _fork_request(tool_env: dict[str, str], tmp_path: Path, ignore_term: bool) -> ToolRequest:
    env = {**tool_env, "FAKE_TOOL_ACTION": "fork"}
    if ignore_term:
        env["FAKE_TOOL_IGNORE_TERM"] = "1"
    return ToolRequest(tool="codex", prompt="p", cwd=tmp_path, env=env)


def _signal_on_start(signum: int, pids: list[int]) -> tuple[threading.Event, Callable[[str], None]]:
    """An ``on_output`` that sends ``signum`` to this process once the helper's pid shows."""
    started = threading.Event()

    def on_output(text: str) -> None:
        if text.startswith("started ") and not started.is_set():
            pids.append(int(text.split()[1]))
            started.set()
            threading.Timer(0.05, os.kill, (os.getpid(), signum)).start()

    return started, on_output


def test_ctrl_c_kills_a_group_that_ignores_sigterm_then_interrupts(
    tool_env: dict[str, str], tmp_path: Path, record_file: Path, reaper: list[int]
) -> None:
    before = signal.getsignal(signal.SIGINT)
    started, on_output = _signal_on_start(signal.SIGINT, reaper)
    with pytest.raises(KeyboardInterrupt):
        run_tool(_fork_request(tool_env, tmp_path, True), on_output, kill_grace=0.3)
    tool = json.loads(record_file.read_text(encoding="utf-8"))["pid"]
    assert started.is_set()
    assert _gone(tool, *reaper, within=5)
    assert signal.getsignal(signal.SIGINT) is before


def test_sigterm_reaches_the_handler_ccw_had_after_the_group_ended(
    tool_env: dict[str, str], tmp_path: Path, record_file: Path, reaper: list[int]
) -> None:
    seen: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        seen.append(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        _, on_output = _signal_on_start(signal.SIGTERM, reaper)
        result = run_tool(_fork_request(tool_env, tmp_path, False), on_output, kill_grace=2)
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, previous)
    tool = json.loads(record_file.read_text(encoding="utf-8"))["pid"]
    assert seen == [signal.SIGTERM]
    assert not result.success and result.exit_code == 128 + signal.SIGTERM
    assert _gone(tool, *reaper, within=5)


def test_an_ignored_signal_stays_ignored(tool_env: dict[str, str], tmp_path: Path) -> None:
    """``nohup ccw cli --tool …``: a hang-up must not end the tool."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        sent: list[bool] = []

        def on_output(text: str) -> None:
            if not sent:
                sent.append(True)
                os.kill(os.getpid(), signal.SIGHUP)

        result = run_tool(
            ToolRequest(tool="gemini", prompt="p", cwd=tmp_path, env=tool_env), on_output
        )
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert sent and result.success, result.error


# A default deadline.


def test_a_tool_run_has_a_default_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CCW_TOOL_TIMEOUT", raising=False)
    assert default_tool_timeout() == DEFAULT_TOOL_TIMEOUT_SECONDS == 600
    monkeypatch.setenv("CCW_TOOL_TIMEOUT", "90")
    assert default_tool_timeout() == 90
    monkeypatch.setenv("CCW_TOOL_TIMEOUT", "0")
    assert default_tool_timeout() is None
    for bad in ("soon", "-5", "inf", "nan"):
        monkeypatch.setenv("CCW_TOOL_TIMEOUT", bad)
        with pytest.raises(UsageError, match="CCW_TOOL_TIMEOUT"):
            default_tool_timeout()


def test_the_config_deadline_sits_between_the_environment_and_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CCW_TOOL_TIMEOUT", raising=False)
    assert default_tool_timeout(45) == 45
    assert default_tool_timeout(0) is None
    monkeypatch.setenv("CCW_TOOL_TIMEOUT", "90")
    assert default_tool_timeout(45) == 90


def test_cli_deadline_from_the_config(
    run_ccw: RunCcw, tool_env: dict[str, str], project: Path
) -> None:
    config = project / ".ccw" / "storage" / "config" / "litellm-api-config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('{"toolTimeoutSeconds": 1}')
    env = {**tool_env, "FAKE_TOOL_ACTION": "hang"}
    env.pop("CCW_TOOL_TIMEOUT", None)
    done = run_ccw("cli", "-p", "hi", "--tool", "gemini", env=env)
    assert done.returncode == 14
    assert "gemini timed out after 1s and was terminated" in done.stderr


def test_the_executor_applies_its_default_deadline(
    tool_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ccw.exec import events
    from ccw.exec.executor import Request

    for name, value in {**tool_env, "FAKE_TOOL_ACTION": "hang"}.items():
        monkeypatch.setenv(name, value)
    executor = ToolExecutor("qwen", default_timeout=0.5)
    result = executor.run(Request("p", None, cwd=tmp_path), events.ignore)
    assert (result.error_kind, result.exit_code) == ("timeout", 14)
    assert result.error == "qwen timed out after 0.5s and was terminated"
    assert result.fix is not None and "CCW_TOOL_TIMEOUT" in result.fix


def test_cli_deadline_from_the_environment(run_ccw: RunCcw, tool_env: dict[str, str]) -> None:
    env = {**tool_env, "FAKE_TOOL_ACTION": "hang", "CCW_TOOL_TIMEOUT": "1"}
    done = run_ccw("cli", "-p", "hi", "--tool", "gemini", env=env)
    assert done.returncode == 14
    assert "gemini timed out after 1s and was terminated" in done.stderr
    bad = run_ccw("cli", "-p", "hi", "--tool", "gemini", env={**env, "CCW_TOOL_TIMEOUT": "x"})
    assert bad.returncode == 2
    assert "CCW_TOOL_TIMEOUT='x' is not a number of seconds" in bad.stderr


# The reason a tool gives, wherever it gives it.


def test_a_reason_printed_on_stdout_is_in_the_error(
    run_ccw: RunCcw, tool_env: dict[str, str]
) -> None:
    done = run_ccw(
        "cli", "-p", "hi", "--tool", "claude", env={**tool_env, "FAKE_TOOL_ACTION": "fail_stdout"}
    )
    assert done.returncode == 1
    assert "claude exited with status 1: Not logged in · Please run /login" in done.stderr
    detail = json.loads(run_ccw("cli", "history", "--json").stdout)["calls"][0]
    assert detail["status"] == "error"
