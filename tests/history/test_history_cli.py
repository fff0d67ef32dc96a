"""``ccw cli history``, ``ccw cli detail`` and ``--resume`` through the real command line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ccw.history import open_history
from ccw.result import ExecutionResult, Usage
from tests.cli.conftest import SECRET, configured, keys, server  # noqa: F401 (fixtures)
from tests.conftest import RunCcw
from tests.fakes.provider_server import DEFAULT_REPLY, ProviderServer


def _plain(text: str) -> str:
    """``text`` without terminal styling (bold headers)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.fixture
def data_dir(ccw_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The data dir the ccw processes of this test use, also for seeding from the test."""
    monkeypatch.setenv("CCW_DATA_DIR", ccw_env["CCW_DATA_DIR"])
    return Path(ccw_env["CCW_DATA_DIR"])


@pytest.fixture
def seeded(data_dir: Path, project: Path) -> list[str]:
    """Three calls in the project: a LiteLLM answer, a failed gemini run, a codex run; oldest
    first."""
    with open_history() as store:
        ids = [
            store.record(
                ExecutionResult(
                    success=True,
                    output="Tokens are checked in middleware.",
                    model="gpt-4o",
                    provider="oai",
                    endpoint_id="gpt",
                    usage=Usage(120, 30, 0),
                    cost=0.0012,
                    duration_ms=2300,
                ),
                prompt="Review the authentication flow\nwith care",
                messages=[{"role": "user", "content": "Review the authentication flow"}],
                cwd=str(project),
            ),
            store.record(
                ExecutionResult(
                    success=False,
                    tool="gemini",
                    provider="gemini",
                    model="gemini-2.5-pro",
                    error="gemini exited with status 7: quota",
                    error_kind="exit_status",
                    exit_code=7,
                ),
                prompt="Explain @src/parser.py",
                call_id="parser",
                cwd=str(project),
            ),
            store.record(
                ExecutionResult(success=True, tool="codex", provider="codex", model="default"),
                prompt="Fix the failing test",
                cwd=str(project / "sub"),
            ),
        ]
    assert all(ids)
    return [i for i in ids if i]


def test_history_lists_calls_newest_first(run_ccw: RunCcw, seeded: list[str]) -> None:
    done = run_ccw("cli", "history", env={"TTY_COMPATIBLE": "1"})  # laid out as on a terminal
    assert done.returncode == 0, done.stderr
    lines = _plain(done.stdout).splitlines()
    assert lines[0].split() == ["id", "time", "model", "status", "took", "cost", "prompt"]
    assert [line.split()[0] for line in lines[1:]] == seeded[::-1]
    litellm_line, gemini_line = lines[3], lines[2]
    assert litellm_line.split()[2:5] == ["gpt", "ok", "2.3"]
    assert "$0.001200" in litellm_line and "Review the authentication flow" in litellm_line
    assert "with care" not in done.stdout  # only the first line of the prompt
    assert gemini_line.split()[2:5] == ["gemini", "error", "7"]


def test_history_piped_and_at_80_columns_keeps_ids_whole(
    run_ccw: RunCcw, seeded: list[str]
) -> None:
    piped = run_ccw("cli", "history")
    assert piped.returncode == 0, piped.stderr
    rows = [line.split("\t") for line in piped.stdout.splitlines()]
    assert [row[0] for row in rows] == seeded[::-1]  # cut -f1 gives the ids
    assert all(len(row) == 7 for row in rows)
    narrow = run_ccw("cli", "history", env={"TTY_COMPATIBLE": "1", "COLUMNS": "80"})
    assert narrow.returncode == 0, narrow.stderr
    lines = _plain(narrow.stdout).splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert len(lines) == 1 + len(seeded)  # one line per call, under one header
    assert [line.split()[0] for line in lines] == ["id", *seeded[::-1]]


def test_history_filters_and_searches(run_ccw: RunCcw, seeded: list[str]) -> None:
    def ids(*args: str) -> list[str]:
        done = run_ccw("cli", "history", "--json", *args)
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        assert data["count"] == len(data["calls"])
        return [call["id"] for call in data["calls"]]

    assert ids() == seeded[::-1]
    assert ids("--limit", "1") == [seeded[2]]
    assert ids("--tool", "gemini") == ["parser"]
    assert ids("--status", "error") == ["parser"]
    assert ids("--status", "ok") == [seeded[2], seeded[0]]
    assert ids("--search", "middleware") == [seeded[0]]  # found in the answer
    assert ids("--search", "parser.py") == ["parser"]
    assert ids("--search", "nothing-like-this") == []


def test_history_rejects_a_bad_status(run_ccw: RunCcw, data_dir: Path) -> None:
    done = run_ccw("cli", "history", "--status", "failed")
    assert done.returncode == 2
    assert "unknown --status 'failed'" in done.stderr


def test_an_empty_history_says_so(run_ccw: RunCcw, data_dir: Path) -> None:
    done = run_ccw("cli", "history")
    assert done.returncode == 0
    assert done.stdout.strip() == "No calls recorded yet."


def test_detail_shows_one_call(run_ccw: RunCcw, seeded: list[str], project: Path) -> None:
    done = run_ccw("cli", "detail", seeded[0])
    assert done.returncode == 0, done.stderr
    for text in (
        seeded[0],
        "gpt-4o",
        str(project),
        "120 in / 30 out",
        "$0.001200",
        "Review the authentication flow\nwith care",
        "Tokens are checked in middleware.",
    ):
        assert text in done.stdout
    failed = run_ccw("cli", "detail", "parser").stdout
    assert "gemini exited with status 7: quota [exit_status]" in failed
    assert "error 7" in failed


def test_detail_json_is_the_full_record(run_ccw: RunCcw, seeded: list[str]) -> None:
    done = run_ccw("cli", "detail", seeded[0], "--json")
    assert done.returncode == 0, done.stderr
    with open_history() as store:
        assert json.loads(done.stdout) == store.get(seeded[0])


def test_detail_of_an_unknown_id(run_ccw: RunCcw, data_dir: Path) -> None:
    done = run_ccw("cli", "detail", "nope")
    assert done.returncode == 4
    assert "no call 'nope' in the history" in done.stderr


def test_a_corrupt_history_is_moved_aside(run_ccw: RunCcw, data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "history.db").write_bytes(b"garbage" * 1000)
    done = run_ccw("cli", "history")
    assert done.returncode == 0, done.stderr
    assert "was damaged; moved it to history.db.corrupt-" in done.stderr
    assert done.stdout.strip() == "No calls recorded yet."
    assert len(list(data_dir.glob("history.db.corrupt-*"))) == 1


def test_litellm_calls_are_recorded_searchable_and_resumable(
    run_ccw: RunCcw,
    configured: Path,  # noqa: F811
    server: ProviderServer,  # noqa: F811
    keys: dict[str, str],  # noqa: F811
    data_dir: Path,
) -> None:
    first = run_ccw("cli", "-p", "My name is Ada", "--id", "intro", env=keys)
    assert first.returncode == 0, first.stderr
    second = run_ccw("cli", "-p", "What is my name?", "--resume", "intro", env=keys)
    assert second.returncode == 0, second.stderr
    assert server.requests[-1].body["messages"] == [
        {"role": "user", "content": "My name is Ada"},
        {"role": "assistant", "content": DEFAULT_REPLY},
        {"role": "user", "content": "What is my name?"},
    ]

    calls = json.loads(run_ccw("cli", "history", "--json").stdout)["calls"]
    assert [c["promptPreview"] for c in calls] == ["What is my name?", "My name is Ada"]
    assert calls[1]["id"] == "intro"
    assert all(c["tool"] == "litellm" and c["endpointId"] == "gpt" for c in calls)
    assert all(c["usage"]["promptTokens"] >= 1 and c["cost"] > 0 for c in calls)
    found = json.loads(run_ccw("cli", "history", "--search", "Ada", "--json").stdout)["calls"]
    assert [c["id"] for c in found] == ["intro"]
    detail = json.loads(run_ccw("cli", "detail", calls[0]["id"], "--json").stdout)
    assert detail["output"] == DEFAULT_REPLY
    assert [m["content"] for m in detail["messages"]] == [
        "My name is Ada",
        DEFAULT_REPLY,
        "What is my name?",
    ]

    stored = b"".join(p.read_bytes() for p in data_dir.glob("history.db*"))
    assert SECRET.encode() not in stored


def test_a_bare_resume_continues_the_last_litellm_call(
    run_ccw: RunCcw,
    configured: Path,  # noqa: F811
    server: ProviderServer,  # noqa: F811
    keys: dict[str, str],  # noqa: F811
    data_dir: Path,
) -> None:
    assert run_ccw("cli", "-p", "My name is Ada", env=keys).returncode == 0
    with open_history() as store:
        store.record(ExecutionResult(success=True, tool="gemini"), prompt="a tool call")
    done = run_ccw("cli", "-p", "Thanks", "--resume", env=keys)
    assert done.returncode == 0, done.stderr
    assert [m["content"] for m in server.requests[-1].body["messages"]] == [
        "My name is Ada",
        DEFAULT_REPLY,
        "Thanks",
    ]


def test_only_litellm_calls_can_be_resumed(
    run_ccw: RunCcw,
    configured: Path,  # noqa: F811
    keys: dict[str, str],  # noqa: F811
    seeded: list[str],
) -> None:
    done = run_ccw("cli", "-p", "go on", "--resume", "parser", env=keys)
    assert done.returncode == 2
    assert "only LiteLLM calls can be resumed" in done.stderr
    done = run_ccw("cli", "-p", "go on", "--resume", "missing", env=keys)
    assert done.returncode == 4
    assert "no call 'missing' in the history" in done.stderr
