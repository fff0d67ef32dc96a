"""``execute`` and ``plan`` in process: route -> executor -> history, with the mock executor
standing in for every backend, and the real SQLite history in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccw.context.options import PackOptions
from ccw.errors import UsageError
from ccw.exec import events, faults
from ccw.exec.faults import ProviderFault
from ccw.exec.mock import MockExecutor
from ccw.exec.run import RunOptions, execute, plan
from ccw.exec.tools import ToolMissingError
from ccw.history import open_history
from ccw.result import Usage

pytestmark = pytest.mark.usefixtures("data_dir")


def _options(project: Path, prompt: str = "hello", **extra: object) -> RunOptions:
    return RunOptions(prompt=prompt, cwd=project, **extra)  # type: ignore[arg-type]


def test_the_answer_streams_as_text_events_and_the_call_is_recorded(project: Path) -> None:
    mock = MockExecutor(chunks=["Hel", "lo"], usage=Usage(7, 2, 0), cost=0.5)
    seen: list[events.Event] = []
    result = execute(_options(project, call_id="first"), seen.append, executor=mock)
    assert result.success and result.output == "Hello"
    assert seen == [events.Text("Hel"), events.Text("lo")]
    assert [r.prompt for r in mock.requests] == ["hello"]
    assert result.id == "first"
    record = open_history().get("first")
    assert record is not None
    assert (record["output"], record["model"], record["tool"]) == ("Hello", "mock-model", "litellm")
    assert record["messages"] == [{"role": "user", "content": "hello"}]


def test_patterns_are_packed_before_the_executor_runs(project: Path) -> None:
    (project / "notes.md").write_text("the notes\n")
    mock = MockExecutor()
    seen: list[events.Event] = []
    packing = PackOptions(allow_empty=True)
    options = _options(project, "@notes.md @gone.md Summarise", packing=packing)
    result = execute(options, seen.append, executor=mock)
    ctx = mock.requests[0].context
    assert ctx is not None and [f.path for f in ctx.files] == ["notes.md"]
    assert "the notes" in result.output and result.output.endswith("Summarise")
    assert result.cached_files == ["notes.md"]
    warnings = [e.text for e in seen if isinstance(e, events.Warning)]
    assert any("gone.md" in w and "matched no file" in w for w in warnings)


def test_a_pattern_that_matches_nothing_stops_the_call_before_the_executor(
    project: Path,
) -> None:
    (project / "notes.md").write_text("the notes\n")
    mock = MockExecutor()
    result = execute(_options(project, "@notes.md @gone.md Summarise"), executor=mock)
    assert (result.success, result.exit_code) == (False, UsageError.exit_code)
    assert "gone.md" in (result.error or "")
    assert mock.requests == []


def test_a_provider_fault_is_a_failed_result_with_its_kind(project: Path) -> None:
    mock = MockExecutor(fault=ProviderFault(faults.RATE_LIMIT, "slow down"))
    result = execute(_options(project), executor=mock)
    assert (result.success, result.error_kind, result.exit_code) == (False, "rate_limit", 11)
    assert result.id is not None
    record = open_history().get(result.id)
    assert record is not None and record["errorKind"] == "rate_limit"


def test_an_error_before_the_answer_is_recorded_with_its_kind(project: Path) -> None:
    mock = MockExecutor(error=ToolMissingError("gemini"))
    result = execute(_options(project), executor=mock)
    assert (result.success, result.error_kind, result.exit_code) == (False, "tool_missing", 20)
    assert result.fix and "npm install" in result.fix


def test_resume_sends_the_earlier_turns(project: Path) -> None:
    mock = MockExecutor(chunks=["first answer"])
    execute(_options(project, "first question"), executor=mock)
    execute(_options(project, "and then?", resume=""), executor=mock)
    assert mock.requests[-1].prior == [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
    ]


def test_a_tool_call_cannot_resume(project: Path) -> None:
    result = execute(_options(project, tool="gemini", resume="", record=False))
    assert (result.success, result.exit_code, result.tool) == (False, 2, "gemini")
    assert result.error == "--resume continues LiteLLM calls only"


def test_record_false_keeps_the_history_untouched(project: Path, data_dir: Path) -> None:
    execute(_options(project, record=False), executor=MockExecutor())
    assert not (data_dir / "history.db").exists()


def test_plan_asks_the_executor_and_sends_nothing(project: Path) -> None:
    (project / "a.py").write_text("x = 1\n")
    mock = MockExecutor(cost=0.25)
    result = plan(_options(project, "@a.py explain"), executor=mock)
    assert (result.tool, result.model, result.provider, result.endpoint_id) == (
        "litellm",
        "mock-model",
        "mock",
        "mock",
    )
    assert result.input_cost == 0.25
    assert result.context is not None and [f.path for f in result.context.files] == ["a.py"]
    assert mock.requests == []


def test_what_the_history_says_reaches_the_caller_as_warnings(
    project: Path, data_dir: Path
) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "history.db").write_bytes(b"this is not a database" * 200)
    seen: list[events.Event] = []
    result = execute(_options(project), seen.append, executor=MockExecutor())
    warnings = [e.text for e in seen if isinstance(e, events.Warning)]
    assert any("history" in w and "damaged" in w for w in warnings), warnings
    assert result.id is not None and open_history().get(result.id) is not None


def test_packing_progress_arrives_as_events(project: Path) -> None:
    for n in range(3):
        (project / f"f{n}.md").write_text(f"file {n}\n")
    seen: list[events.Event] = []
    execute(_options(project, "@*.md Summarise"), seen.append, executor=MockExecutor())
    progress = [e for e in seen if isinstance(e, events.Progress)]
    assert progress and progress[-1] == events.Progress(3, 3)
