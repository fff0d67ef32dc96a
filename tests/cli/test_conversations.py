"""Conversations through the real ``ccw cli``: --continue/--resume per project and per
endpoint, ``history --conversation``, ``detail``, ``--dry-run --resume`` and Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ccw.history import open_history
from ccw.result import ExecutionResult
from tests.conftest import RunCcw
from tests.fakes.provider_server import DEFAULT_REPLY, ProviderServer


def _posts(server: ProviderServer) -> list[Any]:
    return [r for r in server.requests if r.method == "POST"]


def _contents(server: ProviderServer) -> list[str]:
    messages = _posts(server)[-1].body["messages"]
    return [
        m["content"] if isinstance(m["content"], str) else m["content"][0]["text"] for m in messages
    ]


def test_continue_takes_this_projects_last_call_and_keeps_its_endpoint(
    run_ccw: RunCcw,
    configured: Path,
    server: ProviderServer,
    keys: dict[str, str],
    tmp_path: Path,
    ccw_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = run_ccw("cli", "My name is Ada", "--model", "claude", "--json", env=keys)
    assert first.returncode == 0, first.stderr
    first_id = json.loads(first.stdout)["id"]
    other = tmp_path / "other"  # a later call in another project
    (other / ".ccw").mkdir(parents=True)
    monkeypatch.setenv("CCW_DATA_DIR", ccw_env["CCW_DATA_DIR"])
    with open_history() as store:
        done = ExecutionResult(success=True, output="x", endpoint_id="gpt", model="gpt-4o")
        assert store.record(done, prompt="Unrelated", cwd=str(other))

    again = run_ccw("cli", "What is my name?", "--continue", "--json", env=keys)
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert _posts(server)[-1].path == "/v1/messages"  # still claude, not the default gpt
    assert second["endpointId"] == "claude"
    assert (second["parentId"], second["conversationId"]) == (first_id, first_id)
    assert _contents(server) == ["My name is Ada", DEFAULT_REPLY, "What is my name?"]

    switched = run_ccw("cli", "And now?", "--resume", "--model", "gpt", "--json", env=keys)
    assert switched.returncode == 0, switched.stderr
    assert f"conversation {first_id} switches from claude to gpt" in switched.stderr
    assert _posts(server)[-1].path == "/v1/chat/completions"
    assert len(_contents(server)) == 5

    turns = json.loads(run_ccw("cli", "history", "--conversation", first_id, "--json").stdout)
    assert turns["conversation"] == first_id
    assert [c["promptPreview"] for c in turns["calls"]] == [
        "My name is Ada",
        "What is my name?",
        "And now?",
    ]
    assert [c["endpointId"] for c in turns["calls"]] == ["claude", "claude", "gpt"]
    shown = run_ccw("cli", "history", "--conversation", second["id"], env={"TTY_COMPATIBLE": "1"})
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert [line.split()[0] for line in lines[1:]] == [c["id"] for c in turns["calls"]]
    assert "3 turns, oldest first" in shown.stderr


def test_detail_shows_prompt_files_answer_usage_and_cost(
    run_ccw: RunCcw,
    configured: Path,
    server: ProviderServer,
    keys: dict[str, str],
    project: Path,
) -> None:
    (project / "a.py").write_text("A = 1\n", encoding="utf-8")
    (project / "b.py").write_text("B = 2\n", encoding="utf-8")
    done = run_ccw("cli", "Compare @a.py and @b.py", "--json", env=keys)
    assert done.returncode == 0, done.stderr
    call = json.loads(done.stdout)
    assert "· 2 files reused ·" in run_ccw("cli", "Compare @a.py and @b.py", env=keys).stderr
    shown = run_ccw("cli", "detail", call["id"])
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "── files packed (2) ──\na.py\nb.py" in out
    assert "Compare @a.py and @b.py" in out and DEFAULT_REPLY in out
    assert f"{call['usage']['promptTokens']} in / {call['usage']['completionTokens']} out" in out
    assert f"${call['cost']:.6f}" in out
    assert f"conversation   {call['id']}" in out and "finish" in out


def test_dry_run_resume_counts_the_history_it_would_resend(
    run_ccw: RunCcw,
    configured: Path,
    server: ProviderServer,
    project: Path,
    ccw_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    long_question = "Please remember this long sentence about the parser. " * 20
    monkeypatch.setenv("CCW_DATA_DIR", ccw_env["CCW_DATA_DIR"])
    with open_history() as store:  # an earlier call of this project, as ccw cli records it
        asked = ExecutionResult(
            success=True, output=DEFAULT_REPLY, endpoint_id="gpt", model="gpt-4o"
        )
        messages = [{"role": "user", "content": long_question}]
        assert store.record(
            asked, prompt=long_question, messages=messages, cwd=str(project), call_id="ask"
        )
    fresh = json.loads(run_ccw("cli", "--dry-run", "--json", "Go on").stdout)
    planned = json.loads(run_ccw("cli", "--dry-run", "--json", "Go on", "--resume", "ask").stdout)
    assert (fresh["historyTurns"], planned["historyTurns"]) == (0, 2)
    assert planned["conversationId"] == "ask"
    assert planned["historyTokens"] >= len(long_question) // 4
    assert planned["promptTokens"] >= fresh["promptTokens"] + planned["historyTokens"]
    assert planned["inputCost"] > fresh["inputCost"]
    text = run_ccw("cli", "--dry-run", "Go on", "--continue").stdout
    assert "conversation ask: resends 2 earlier turns" in text
    assert server.requests == []  # nothing was sent, and no key was needed


def test_ctrl_c_records_the_call_as_interrupted_with_what_streamed(
    project: Path,
    configured: Path,
    server: ProviderServer,
    keys: dict[str, str],
    ccw_env: dict[str, str],
    run_ccw: RunCcw,
) -> None:
    server.stall(30)
    with subprocess.Popen(
        [sys.executable, "-m", "ccw", "cli", "Tell me a long story"],
        cwd=project,
        env={**ccw_env, **keys},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), False)
        deadline = time.monotonic() + 60
        shown = ""
        while not shown:  # the first piece streams, then the server stalls
            assert time.monotonic() < deadline, "no answer streamed"
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
            shown = (proc.stdout.read() or b"").decode()
        os.kill(proc.pid, signal.SIGINT)
        _, raw = proc.communicate(timeout=30)
        err = raw.decode()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    calls = json.loads(run_ccw("cli", "history", "--json").stdout)["calls"]
    assert len(calls) == 1
    call = calls[0]
    assert (call["status"], call["errorKind"], call["exitCode"]) == ("error", "interrupted", 130)
    record = json.loads(run_ccw("cli", "detail", call["id"], "--json").stdout)
    assert record["output"] == shown and DEFAULT_REPLY.startswith(shown)
    assert record["error"] == "interrupted (Ctrl-C): the answer is incomplete"
    assert record["endpointId"] == "gpt"
    table = run_ccw("cli", "history", env={"TTY_COMPATIBLE": "1"}).stdout
    assert "interrupted" in table


def test_a_prompt_taken_for_a_resume_id_gets_a_fix(run_ccw: RunCcw, configured: Path) -> None:
    done = run_ccw("cli", "--resume", "What next?")
    assert done.returncode == 2
    assert "--resume took 'What next?' as the id" in done.stderr
    assert 'ccw cli --continue "What next?"' in done.stderr
