"""The history store as a library: record, list, search, get, conversation, corruption."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ccw.errors import NotFoundError, UsageError
from ccw.history import History, HistoryUnavailableError, open_history
from ccw.result import ExecutionResult, Usage

T0 = datetime(2026, 11, 5, 14, 30, 12, 345000, tzinfo=UTC)


class Clock:
    """Advances one second a call, so ids and times are predictable."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.db"


@pytest.fixture
def history(db_path: Path) -> Iterator[History]:
    with History(db_path, clock=Clock()) as store:
        yield store


def litellm_result(output: str = "Paris.", **extra: object) -> ExecutionResult:
    values: dict[str, object] = {
        "success": True,
        "output": output,
        "model": "gpt-4o",
        "provider": "oai",
        "endpoint_id": "gpt",
        "usage": Usage(prompt_tokens=12, completion_tokens=3, cached_tokens=8),
        "finish_reason": "stop",
        "cost": 0.00042,
        "duration_ms": 812,
        "cache_used": True,
        "cached_files": ["src/a.py", "src/b.py"],
        "warnings": ["left out big.bin: binary"],
        **extra,
    }
    return ExecutionResult(**values)  # type: ignore[arg-type]


def tool_result(
    success: bool = True, output: str = "tool answer", **extra: object
) -> ExecutionResult:
    values: dict[str, object] = {
        "success": success,
        "output": output,
        "tool": "gemini",
        "provider": "gemini",
        "model": "default",
        "mode": "write",
        **extra,
    }
    return ExecutionResult(**values)  # type: ignore[arg-type]


def test_a_recorded_call_comes_back_whole(history: History) -> None:
    messages = [{"role": "user", "content": "<files>...</files>\n\nCapital of France?"}]
    call_id = history.record(
        litellm_result(), prompt="Capital of France?", messages=messages, cwd="/work/p"
    )
    assert call_id == "call-261105-143013-" + call_id[-4:]
    record = history.get(call_id)
    assert record == {
        "id": call_id,
        "createdAt": "2026-11-05T14:30:13.345Z",
        "tool": "litellm",
        "endpointId": "gpt",
        "provider": "oai",
        "model": "gpt-4o",
        "mode": "analysis",
        "status": "ok",
        "success": True,
        "exitCode": 0,
        "durationMs": 812,
        "cost": 0.00042,
        "costUncached": None,
        "saved": None,
        "costSource": None,
        "cacheMiss": None,
        "packKey": None,
        "usage": {
            "promptTokens": 12,
            "completionTokens": 3,
            "cachedTokens": 8,
            "cacheWriteTokens": None,
            "cacheWriteTtl": None,
            "uncachedTokens": 4,
        },
        "cacheUsed": True,
        "error": None,
        "errorKind": None,
        "project": "/work/p",
        "parentId": None,
        "conversationId": call_id,
        "finishReason": "stop",
        "deployment": None,
        "fallbackFrom": None,
        "cwd": "/work/p",
        "prompt": "Capital of France?",
        "output": "Paris.",
        "outputChars": 6,
        "outputTruncated": False,
        "messages": messages,
        "fix": None,
        "cachedFiles": ["src/a.py", "src/b.py"],
        "warnings": ["left out big.bin: binary"],
    }


def test_unknown_cost_and_usage_stay_unknown(history: History) -> None:
    call_id = history.record(tool_result(), prompt="p")
    assert call_id is not None
    record = history.get(call_id)
    assert record is not None
    assert record["cost"] is None
    assert set(record["usage"].values()) == {None}
    assert record["costUncached"] is None and record["saved"] is None
    assert record["messages"] is None


def test_generated_ids_sort_by_time(history: History) -> None:
    ids = [history.record(tool_result(), prompt=f"p{n}") for n in range(3)]
    assert all(i and i.startswith("call-") for i in ids)
    assert ids == sorted(ids)  # type: ignore[type-var]


def test_a_taken_name_gets_a_suffix_and_a_warning(
    history: History, capsys: pytest.CaptureFixture[str]
) -> None:
    assert history.record(tool_result(), prompt="a", call_id="review") == "review"
    assert history.record(tool_result(), prompt="b", call_id="review") == "review-2"
    assert history.record(tool_result(), prompt="c", call_id="review") == "review-3"
    assert capsys.readouterr().err == ""
    assert history.warnings == [
        "a call named review is already in the history; this one is review-2",
        "a call named review is already in the history; this one is review-3",
    ]
    assert [c["promptPreview"] for c in history.list()] == ["c", "b", "a"]


def test_list_is_newest_first_and_filters(history: History) -> None:
    history.record(litellm_result(), prompt="one")
    history.record(tool_result(success=False, error="boom", exit_code=7), prompt="two")
    history.record(tool_result(tool="codex", provider="codex"), prompt="three\nmore lines")
    history.record(litellm_result(success=False, output=""), prompt="four")

    def prompts(**filters: object) -> list[str]:
        return [c["promptPreview"] for c in history.list(**filters)]  # type: ignore[arg-type]

    assert prompts() == ["four", "three", "two", "one"]
    assert prompts(limit=2) == ["four", "three"]
    assert prompts(tool="gemini") == ["two"]
    assert prompts(status="error") == ["four", "two"]
    assert prompts(status="ok") == ["three", "one"]
    assert prompts(tool="litellm", status="ok") == ["one"]
    summary = history.list(tool="gemini")[0]
    assert summary["status"] == "error" and summary["exitCode"] == 7 and summary["error"] == "boom"
    assert "output" not in summary and "messages" not in summary


def test_full_text_search_covers_prompt_and_output(history: History) -> None:
    history.record(litellm_result(output="The session token is checked"), prompt="Review auth.py")
    history.record(tool_result(output="Nothing about that"), prompt="Explain the parser")
    history.record(tool_result(output="Authentication flows"), prompt="Summarize")

    def found(text: str) -> list[str]:
        return [c["promptPreview"] for c in history.list(search=text)]

    assert found("parser") == ["Explain the parser"]
    assert found("token") == ["Review auth.py"]  # from the output
    assert found("auth") == ["Summarize", "Review auth.py"]  # word prefix: authentication
    assert found("session checked") == ["Review auth.py"]  # every word must occur
    assert found("session parser") == []
    for syntax in ('"', "AND", "a*", "-x", "NEAR(", "col:umn", "(", "'"):
        history.list(search=syntax)  # FTS5 syntax in the text is taken literally


def test_bad_list_arguments_are_usage_errors(history: History) -> None:
    with pytest.raises(UsageError, match="--status"):
        history.list(status="failed")
    with pytest.raises(UsageError, match="--limit"):
        history.list(limit=0)


def test_conversation_continues_the_last_successful_litellm_call(history: History) -> None:
    first = [{"role": "user", "content": "Hi"}]
    wanted = history.record(litellm_result("Hello!"), prompt="Hi", messages=first)
    history.record(litellm_result(success=False, output=""), prompt="failed")
    history.record(tool_result(), prompt="a tool")
    point = history.resume_point()
    assert (point.call_id, point.conversation_id, point.endpoint_id) == (wanted, wanted, "gpt")
    assert point.turns == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
    ]


def test_resume_point_of_a_project_is_its_own_latest_call(history: History, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        (folder / ".ccw").mkdir(parents=True)
    mine = history.record(litellm_result("A"), prompt="in one", cwd=str(one))
    history.record(litellm_result("B"), prompt="in two", cwd=str(two))
    assert history.resume_point(None, str(one)).call_id == mine
    with pytest.raises(NotFoundError, match="of this project"):
        history.resume_point(None, str(tmp_path / "elsewhere"))


def test_a_continued_call_joins_its_parents_conversation(history: History) -> None:
    root = history.record(litellm_result("1"), prompt="first")
    assert root is not None
    child = litellm_result("2")
    second = history.record(child, prompt="second", parent_id=root)
    assert (child.id, child.parent_id, child.conversation_id) == (second, root, root)
    third = history.record(litellm_result("3"), prompt="third", parent_id=second)
    history.record(litellm_result("x"), prompt="unrelated")
    calls = history.conversation(str(third))
    assert [c["id"] for c in calls] == [root, second, third]
    assert [c["parentId"] for c in calls] == [None, root, second]
    assert {c["conversationId"] for c in calls} == {root}
    assert history.resume_point(third).conversation_id == root
    with pytest.raises(NotFoundError, match="no call or conversation"):
        history.conversation("nope")


def test_conversation_of_a_named_call(history: History) -> None:
    turns = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "And?"},
    ]
    history.record(litellm_result("More."), prompt="And?", messages=turns, call_id="chat")
    history.record(litellm_result("Other"), prompt="x")
    point = history.resume_point("chat")
    assert (point.call_id, point.turns) == (
        "chat",
        [*turns, {"role": "assistant", "content": "More."}],
    )


def test_conversation_without_stored_messages_uses_the_prompt(history: History) -> None:
    history.record(litellm_result("Yes."), prompt="Is it?", call_id="bare")
    assert history.resume_point("bare").turns == [
        {"role": "user", "content": "Is it?"},
        {"role": "assistant", "content": "Yes."},
    ]


def test_conversation_errors(history: History) -> None:
    with pytest.raises(NotFoundError, match="no successful LiteLLM call"):
        history.resume_point()
    with pytest.raises(NotFoundError, match="no call 'nope'"):
        history.resume_point("nope")
    history.record(tool_result(), prompt="p", call_id="by-tool")
    with pytest.raises(UsageError, match="only LiteLLM calls can be resumed") as caught:
        history.resume_point("by-tool")
    assert caught.value.fix and "gemini" in caught.value.fix


def test_recording_never_fails_the_call(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    store = open_history(blocker / "history.db")
    assert store.record(tool_result(), prompt="p") is None
    assert capsys.readouterr().err == ""
    assert store.warnings[0].startswith("this call was not recorded in the history")
    with pytest.raises(HistoryUnavailableError, match="cannot open the history database"):
        store.list()


def test_a_corrupt_database_is_moved_aside_and_replaced(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is not a database " * 200)
    with open_history(db_path) as store:
        call_id = store.record(tool_result(), prompt="after the damage")
        assert call_id is not None
        assert store.get(call_id) is not None
    moved = list(db_path.parent.glob("history.db.corrupt-*"))
    assert len(moved) == 1
    assert moved[0].read_bytes().startswith(b"this is not a database")
    assert len(store.warnings) == 1
    assert f"moved it to {moved[0].name}" in store.warnings[0]
    assert capsys.readouterr().err == ""


def test_damage_found_on_first_read_is_recovered_too(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_history(db_path) as store:
        store.record(tool_result(), prompt="before")
    data = db_path.read_bytes()
    page = 4096  # the schema page stays readable, the table pages are broken
    db_path.write_bytes(data[:page] + b"\xff" * (len(data) - page))
    with open_history(db_path) as store:
        assert store.list() == []
        assert store.record(tool_result(), prompt="after") is not None
        assert [c["promptPreview"] for c in store.list()] == ["after"]
    assert "was damaged" in store.warnings[0]
    assert capsys.readouterr().err == ""


def test_the_database_uses_wal_fts5_and_is_private(db_path: Path) -> None:
    with open_history(db_path) as store:
        store.record(tool_result(), prompt="p")
    assert db_path.stat().st_mode & 0o077 == 0
    db = sqlite3.connect(db_path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT count(*) FROM calls_fts").fetchone()[0] == 1
    db.close()


def test_the_default_location_is_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCW_DATA_DIR", str(tmp_path / "d"))
    assert open_history().path == tmp_path / "d" / "history.db"
