"""``run_tool`` and ``ToolExecutor``, the library API, against stand-in executables on PATH."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ccw.errors import ExitCode, UsageError
from ccw.exec.tools import TOOLS, ToolExecutor, ToolMissingError, ToolRequest, run_tool
from tests.tools.conftest import fake_path

Recorded = Callable[[], dict[str, Any]]

EXPECTED_ARGV = {
    ("gemini", "analysis"): ["--approval-mode", "default"],
    ("gemini", "write"): ["--approval-mode", "auto_edit"],
    ("gemini", "auto"): ["--approval-mode", "yolo"],
    ("qwen", "analysis"): ["--approval-mode", "default"],
    ("qwen", "write"): ["--approval-mode", "auto-edit"],
    ("qwen", "auto"): ["--approval-mode", "yolo"],
    ("codex", "analysis"): ["exec", "--skip-git-repo-check", "--sandbox", "read-only", "-"],
    ("codex", "write"): ["exec", "--skip-git-repo-check", "--sandbox", "workspace-write", "-"],
    ("codex", "auto"): ["exec", "--skip-git-repo-check", "--sandbox", "danger-full-access", "-"],
    ("claude", "analysis"): ["-p", "--permission-mode", "plan"],
    ("claude", "write"): ["-p", "--permission-mode", "acceptEdits"],
    ("claude", "auto"): ["-p", "--permission-mode", "bypassPermissions"],
}


@pytest.mark.parametrize(("tool", "mode"), sorted(EXPECTED_ARGV))
def test_each_tool_and_mode_gets_its_own_flags(
    tool: str, mode: str, tool_env: dict[str, str], recorded: Recorded, tmp_path: Path
) -> None:
    result = run_tool(
        ToolRequest(tool=tool, prompt="Explain @src/app.py", mode=mode, cwd=tmp_path, env=tool_env)
    )
    seen = recorded()
    assert seen["argv"] == EXPECTED_ARGV[(tool, mode)]
    assert seen["stdin"] == "Explain @src/app.py"
    assert seen["cwd"] == str(tmp_path.resolve())
    assert result.success and result.exit_code == 0 and result.error is None
    assert result.output == f"{tool} answered a 19-byte prompt\n"
    assert (result.tool, result.provider, result.model, result.mode) == (
        tool,
        tool,
        "default",
        mode,
    )


EXPECTED_EXTRAS = {
    "gemini": [
        "--approval-mode", "default", "--model", "m-1",
        "--include-directories", "{a}", "--include-directories", "{b}",
    ],
    "qwen": [
        "--approval-mode", "default", "--model", "m-1",
        "--include-directories", "{a}", "--include-directories", "{b}",
    ],
    "codex": [
        "exec", "--skip-git-repo-check", "--sandbox", "read-only", "--model", "m-1",
        "--add-dir", "{a}", "--add-dir", "{b}", "-",
    ],
    "claude": [
        "-p", "--permission-mode", "plan", "--model", "m-1", "--add-dir", "{a}", "--add-dir", "{b}",
    ],
}  # fmt: skip


@pytest.mark.parametrize("tool", TOOLS)
def test_model_and_include_dirs_use_the_tools_own_flags(
    tool: str, tool_env: dict[str, str], recorded: Recorded, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    (work / "lib").mkdir(parents=True)
    shared = tmp_path / "shared"
    shared.mkdir()
    result = run_tool(
        ToolRequest(
            tool=tool,
            prompt="p",
            model="m-1",
            cwd=work,
            include_dirs=[Path("lib"), shared],
            env=tool_env,
        )
    )
    a, b = str((work / "lib").resolve()), str(shared.resolve())
    expected = [arg.format(a=a, b=b) for arg in EXPECTED_EXTRAS[tool]]
    assert recorded()["argv"] == expected
    assert result.model == "m-1"


def test_a_one_megabyte_prompt_goes_whole_on_stdin_and_never_in_argv(
    tool_env: dict[str, str], recorded: Recorded, tmp_path: Path
) -> None:
    prompt = ("Review this: é€😀 " + "x" * 1000 + "\n") * 1000
    assert len(prompt.encode("utf-8")) > 1_000_000
    result = run_tool(ToolRequest(tool="codex", prompt=prompt, cwd=tmp_path, env=tool_env))
    seen = recorded()
    assert seen["stdin"] == prompt
    assert all(len(arg) < 100 for arg in seen["argv"])
    assert result.success
    assert result.output == f"codex answered a {len(prompt.encode('utf-8'))}-byte prompt\n"


def test_the_tools_exit_status_passes_through_and_stderr_reaches_ours(
    tool_env: dict[str, str], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    env = {**tool_env, "FAKE_TOOL_ACTION": "fail", "FAKE_TOOL_EXIT": "7"}
    result = run_tool(ToolRequest(tool="gemini", prompt="p", cwd=tmp_path, env=env))
    assert not result.success
    assert result.exit_code == 7
    assert result.error_kind == "exit_status"
    assert result.error == "gemini exited with status 7: boom: gemini could not finish"
    assert "gemini: warming up\nboom: gemini could not finish\n" in capfd.readouterr().err


def test_a_hanging_tool_is_terminated_at_the_timeout(
    tool_env: dict[str, str], recorded: Recorded, tmp_path: Path
) -> None:
    env = {**tool_env, "FAKE_TOOL_ACTION": "hang"}
    result = run_tool(ToolRequest(tool="qwen", prompt="p", cwd=tmp_path, timeout=1, env=env))
    assert not result.success
    assert result.error_kind == "timeout"
    assert result.exit_code == ExitCode.TIMEOUT
    assert result.error == "qwen timed out after 1s and was terminated"
    assert result.fix == (
        "give it longer with --timeout SECONDS (it had 1s), "
        "or set CCW_TOOL_TIMEOUT (0: no deadline)"
    )
    assert result.output == "started\n"
    assert not _alive(recorded()["pid"])


def test_a_tool_that_ignores_sigterm_is_killed_after_the_grace_period(
    tool_env: dict[str, str], recorded: Recorded, tmp_path: Path
) -> None:
    env = {**tool_env, "FAKE_TOOL_ACTION": "hang", "FAKE_TOOL_IGNORE_TERM": "1"}
    request = ToolRequest(tool="claude", prompt="p", cwd=tmp_path, timeout=1, env=env)
    result = run_tool(request, kill_grace=0.3)
    assert result.error_kind == "timeout"
    assert (
        result.error == "claude timed out after 1s and was killed after it ignored SIGTERM for 0.3s"
    )
    assert not _alive(recorded()["pid"])


def test_a_missing_tool_names_itself_and_its_npm_package(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    with pytest.raises(ToolMissingError) as caught:
        run_tool(ToolRequest(tool="claude", prompt="p", cwd=tmp_path, env={"PATH": str(empty)}))
    assert caught.value.exit_code == ExitCode.TOOL_MISSING == 20
    assert "claude is not installed" in caught.value.message
    assert caught.value.fix and "@anthropic-ai/claude-code" in caught.value.fix


def test_output_streams_to_the_callback_as_it_arrives(
    tool_env: dict[str, str], tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    env = {**tool_env, "FAKE_TOOL_ACTION": "stream", "FAKE_TOOL_GATE": str(gate)}
    seen: list[str] = []

    def on_output(text: str) -> None:
        seen.append(text)
        if "first" in "".join(seen):
            gate.touch()  # the tool prints "second" only once we have seen "first"

    result = run_tool(ToolRequest(tool="gemini", prompt="p", cwd=tmp_path, env=env), on_output)
    assert result.output == "first\nsecond: gate seen\n"
    assert "".join(seen) == result.output


def test_a_lot_of_output_arrives_whole_in_chunks(tool_env: dict[str, str], tmp_path: Path) -> None:
    env = {**tool_env, "FAKE_TOOL_ACTION": "flood", "FAKE_TOOL_BYTES": str(4 * 1024 * 1024)}
    chunks: list[str] = []
    result = run_tool(ToolRequest(tool="codex", prompt="p", cwd=tmp_path, env=env), chunks.append)
    lines = result.output.splitlines()
    assert len(result.output) >= 4 * 1024 * 1024
    assert lines[0].startswith("00000000 ") and lines[-1].startswith(f"{len(lines) - 1:08d} ")
    assert len(chunks) > 1 and "".join(chunks) == result.output


def test_a_tool_that_leaves_a_child_holding_stdout_still_finishes(
    tool_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**tool_env, "FAKE_TOOL_ACTION": "orphan"}
    result = run_tool(ToolRequest(tool="gemini", prompt="p", cwd=tmp_path, env=env))
    sleeper = int(result.output.split()[1])
    os.kill(sleeper, signal.SIGKILL)
    assert result.success and result.output == f"done {sleeper}\n"


def test_gemini_runs_trusting_the_chosen_folder_unless_told_otherwise(
    tool_env: dict[str, str], recorded: Recorded, tmp_path: Path
) -> None:
    run_tool(ToolRequest(tool="gemini", prompt="p", cwd=tmp_path, env=tool_env))
    assert recorded()["trust"] == "true"
    env = {**tool_env, "GEMINI_CLI_TRUST_WORKSPACE": "false"}
    run_tool(ToolRequest(tool="gemini", prompt="p", cwd=tmp_path, env=env))
    assert recorded()["trust"] == "false"
    run_tool(ToolRequest(tool="claude", prompt="p", cwd=tmp_path, env=tool_env))
    assert recorded()["trust"] is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tool": "cursor"}, "unknown tool 'cursor'"),
        ({"mode": "yolo"}, "unknown mode 'yolo'"),
        ({"cwd": Path("/no/such/dir")}, "--cd /no/such/dir is not a directory"),
        ({"include_dirs": [Path("missing")]}, "is not a directory"),
    ],
)
def test_bad_requests_are_usage_errors(
    change: dict[str, Any], message: str, tool_env: dict[str, str], tmp_path: Path
) -> None:
    request = ToolRequest(
        **{"tool": "gemini", "prompt": "p", "cwd": tmp_path, "env": tool_env, **change}
    )
    with pytest.raises(UsageError, match=message.replace("'", ".")):
        run_tool(request)


def test_the_executors_do_not_import_litellm() -> None:
    code = (
        "import sys, ccw.exec.tools, ccw.history, ccw.cli.history_cmd; "
        "assert 'litellm' not in sys.modules, 'litellm imported'"
    )
    env = {**os.environ, "PATH": fake_path()}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_tool_executor_sends_the_packed_prompt_and_streams_text_events(
    tool_env: dict[str, str],
    recorded: Callable[[], dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ccw.context.api import ContextResult
    from ccw.exec import events
    from ccw.exec.executor import Request

    for name, value in tool_env.items():
        monkeypatch.setenv(name, value)
    executor = ToolExecutor("claude", "opus", packs=True)
    context = ContextResult(pack="<files/>", prompt="Explain")
    seen: list[events.Event] = []
    request = Request("@a.py Explain", context, mode="write", cwd=tmp_path)
    result = executor.run(request, seen.append)
    assert result.success, result.error
    assert recorded()["stdin"] == context.final_prompt()
    assert recorded()["argv"][-2:] == ["--model", "opus"]
    assert "".join(e.piece for e in seen if isinstance(e, events.Text)) == result.output
    assert (executor.model, executor.provider, executor.endpoint_id) == ("opus", "claude", None)
