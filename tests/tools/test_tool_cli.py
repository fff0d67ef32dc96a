"""``ccw cli --tool ...``: the CLI tools through the real command line, with stand-ins on PATH."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import RunCcw
from tests.tools.conftest import fake_path

Recorded = Callable[[], dict[str, Any]]


def test_a_tool_call_gets_the_prompt_on_stdin_in_the_chosen_folder(
    run_ccw: RunCcw, project: Path, tool_env: dict[str, str], recorded: Recorded
) -> None:
    (project / "sub" / "lib").mkdir(parents=True)
    (project / "shared").mkdir()
    done = run_ccw(
        "cli", "-p", "Explain @src/app.py", "--tool", "codex", "--mode", "write",
        "--model", "o3", "--cd", str(project / "sub"), "--include-dirs", "lib,../shared",
        env=tool_env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "codex answered a 19-byte prompt\n"
    seen = recorded()
    assert seen["stdin"] == "Explain @src/app.py"  # @patterns go as written by default
    assert seen["cwd"] == str((project / "sub").resolve())
    assert seen["argv"] == [
        "exec", "--skip-git-repo-check", "--sandbox", "workspace-write", "--model", "o3",
        "--add-dir", str((project / "sub" / "lib").resolve()),
        "--add-dir", str((project / "shared").resolve()),
        "-",
    ]  # fmt: skip


def test_relative_cd_and_include_dirs_are_taken_from_where_ccw_runs(
    run_ccw: RunCcw, project: Path, tool_env: dict[str, str], recorded: Recorded
) -> None:
    (project / "sub" / "lib").mkdir(parents=True)
    done = run_ccw(
        "cli", "-p", "hi", "--tool", "claude", "--cd", "sub", "--include-dirs", "lib", env=tool_env
    )
    assert done.returncode == 0, done.stderr
    assert recorded()["cwd"] == str((project / "sub").resolve())
    assert recorded()["argv"][-1] == str((project / "sub" / "lib").resolve())


def test_a_one_megabyte_prompt_from_stdin_reaches_the_tool(
    run_ccw: RunCcw, tool_env: dict[str, str], recorded: Recorded
) -> None:
    prompt = "Summarize: " + "lorem ipsum dolor sit amet\n" * 40000
    assert len(prompt) > 1_000_000
    done = run_ccw("cli", "-f", "-", "--tool", "claude", input=prompt, env=tool_env)
    assert done.returncode == 0, done.stderr
    assert recorded()["stdin"] == prompt
    assert recorded()["argv"] == ["-p", "--permission-mode", "plan"]


def test_the_tools_exit_status_and_stderr_pass_through(
    run_ccw: RunCcw, tool_env: dict[str, str]
) -> None:
    env = {**tool_env, "FAKE_TOOL_ACTION": "fail", "FAKE_TOOL_EXIT": "7"}
    done = run_ccw("cli", "-p", "hi", "--tool", "gemini", env=env)
    assert done.returncode == 7
    assert "boom: gemini could not finish" in done.stderr
    assert "gemini exited with status 7" in done.stderr


def test_a_timeout_ends_the_tool_and_says_so(run_ccw: RunCcw, tool_env: dict[str, str]) -> None:
    env = {**tool_env, "FAKE_TOOL_ACTION": "hang"}
    done = run_ccw("cli", "-p", "hi", "--tool", "qwen", "--timeout", "1", env=env)
    assert done.returncode == 14
    assert done.stdout.startswith("started")
    assert "qwen timed out after 1s and was terminated" in done.stderr


def test_a_missing_tool_says_how_to_install_it(run_ccw: RunCcw, tmp_path: Path) -> None:
    empty = tmp_path / "no-tools"
    empty.mkdir()
    done = run_ccw("cli", "-p", "hi", "--tool", "gemini", env={"PATH": fake_path(empty)})
    assert done.returncode == 20
    assert "gemini is not installed" in done.stderr
    assert "npm install -g @google/gemini-cli" in done.stderr


def test_tool_calls_are_recorded_in_the_history(run_ccw: RunCcw, tool_env: dict[str, str]) -> None:
    assert run_ccw("cli", "-p", "first question", "--tool", "gemini", env=tool_env).returncode == 0
    failing = {**tool_env, "FAKE_TOOL_ACTION": "fail", "FAKE_TOOL_EXIT": "5"}
    done = run_ccw("cli", "-p", "second", "--tool", "codex", "--id", "named", env=failing)
    assert done.returncode == 5
    listed = json.loads(run_ccw("cli", "history", "--json").stdout)["calls"]
    assert [(c["tool"], c["status"], c["promptPreview"]) for c in listed] == [
        ("codex", "error", "second"),
        ("gemini", "ok", "first question"),
    ]
    assert listed[0]["id"] == "named"
    detail = json.loads(run_ccw("cli", "detail", "named", "--json").stdout)
    assert detail["exitCode"] == 5
    assert detail["errorKind"] == "exit_status"
    assert detail["provider"] == "codex" and detail["model"] == "default"
    first = json.loads(run_ccw("cli", "detail", listed[1]["id"], "--json").stdout)
    assert first["output"] == "gemini answered a 14-byte prompt\n"


def test_pack_prepends_the_packed_files_and_records_them(
    run_ccw: RunCcw, project: Path, tool_env: dict[str, str], recorded: Recorded
) -> None:
    (project / "src").mkdir()
    (project / "src" / "app.py").write_text('print("hi")\n')
    done = run_ccw(
        "cli", "-p", "@src/app.py Explain it", "--tool", "gemini", "--pack", env=tool_env
    )
    assert done.returncode == 0, done.stderr
    stdin = recorded()["stdin"]
    assert stdin.index('print("hi")') < stdin.index("Explain it")
    assert stdin.rstrip().endswith("Explain it")
    call = json.loads(run_ccw("cli", "history", "--json").stdout)["calls"][0]
    detail = json.loads(run_ccw("cli", "detail", call["id"], "--json").stdout)
    assert detail["cachedFiles"] == ["src/app.py"]
    assert detail["prompt"] == "@src/app.py Explain it"  # recorded as written
