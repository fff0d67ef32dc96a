"""The fast layer under ``test_input.py``: prompt sources, argument splitting, model options,
the mock's honouring of them, and the units status lines use."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest

from ccw.cli import units
from ccw.cli.prompt_group import split_words
from ccw.cli.prompt_input import gather
from ccw.errors import UsageError
from ccw.exec import events
from ccw.exec.executor import Request
from ccw.exec.mock import MockExecutor
from ccw.exec.model_options import parse_options
from ccw.exec.run import RunOptions, execute, plan, with_input
from ccw.history import open_history


@pytest.fixture(autouse=True)
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, home: Path) -> Path:
    """This test's own history, home and user config."""
    folder = tmp_path / "data"
    monkeypatch.setenv("CCW_DATA_DIR", str(folder))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("CCW_CONFIG", raising=False)
    return folder


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def silent_pipe() -> Iterator[TextIO]:
    """A pipe whose writer stays open and writes nothing."""
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd) as reader:
        yield reader
    os.close(write_fd)


def test_words_p_and_f_make_the_prompt(tmp_path: Path) -> None:
    assert gather(["What", "is", "2+2?"], None, None, stdin=_Tty()).prompt == "What is 2+2?"
    (tmp_path / "task.md").write_text("From the file.\n")
    got = gather([], "And this.", str(tmp_path / "task.md"), stdin=_Tty())
    assert (got.prompt, got.piped) == ("From the file.\n\n\nAnd this.", None)
    with pytest.raises(UsageError, match="give the prompt once"):
        gather(["a"], "b", None, stdin=_Tty())
    with pytest.raises(UsageError, match="no prompt given"):
        gather([], None, None, stdin=_Tty())
    with pytest.raises(UsageError, match="prompt file not found"):
        gather([], None, str(tmp_path / "nope.md"), stdin=_Tty())


def test_piped_text_is_input_and_dash_f_is_the_prompt() -> None:
    got = gather([], "Review", None, stdin=io.StringIO("diff\n"))
    assert (got.prompt, got.piped) == ("Review", "diff\n")
    alone = gather([], None, None, stdin=io.StringIO("just this\n"))
    assert (alone.prompt, alone.piped) == ("", "just this\n")
    dashed = gather([], "Review", "-", stdin=io.StringIO("@a.py text\n"))
    assert (dashed.prompt, dashed.piped) == ("@a.py text\n\n\nReview", None)
    with pytest.raises(UsageError, match="standard input was empty"):
        gather([], None, None, stdin=io.StringIO(""))


def test_input_from_a_file_or_all_of_stdin(tmp_path: Path, silent_pipe: TextIO) -> None:
    (tmp_path / "log.txt").write_text("@@ a log @@\n")
    got = gather(["Explain"], None, None, input_file=str(tmp_path / "log.txt"), stdin=silent_pipe)
    assert (got.prompt, got.piped) == ("Explain", "@@ a log @@\n")  # the pipe is not read
    waited = gather(["Explain"], None, None, input_file="-", stdin=io.StringIO("slow\n"))
    assert (waited.prompt, waited.piped) == ("Explain", "slow\n")
    with pytest.raises(UsageError, match="either the prompt"):
        gather([], None, "-", input_file="-", stdin=io.StringIO("x"))
    with pytest.raises(UsageError, match="--input needs a prompt"):
        gather([], None, None, input_file="-", stdin=io.StringIO("x"))
    with pytest.raises(UsageError, match="input file not found"):
        gather(["Explain"], None, None, input_file=str(tmp_path / "nope"), stdin=_Tty())


def test_a_silent_pipe_is_given_up_on_with_a_note(silent_pipe: TextIO) -> None:
    notes: list[str] = []
    got = gather([], "hello", None, stdin=silent_pipe, wait=0.05, note=notes.append)
    assert (got.prompt, got.piped) == ("hello", None)
    assert notes and "sent nothing in 0.05 s" in notes[0]


def test_with_input_marks_the_input() -> None:
    assert with_input("Review", None) == "Review"
    assert with_input("", "data") == "data"
    assert with_input("Review", "a\nb") == '<input source="stdin">\na\nb\n</input>\n\nReview'


class _Param:
    param_type_name = "option"

    def __init__(self, *opts: str, flag: bool = False) -> None:
        self.opts, self.secondary_opts = list(opts), []
        self.is_flag, self.count, self.nargs = flag, False, 1


def test_split_words_knows_values_flags_pairs_and_the_double_dash() -> None:
    params = [_Param("-p", "--prompt"), _Param("--json", flag=True), _Param("-m", "--model")]
    split = split_words(
        ["-m", "gpt", "What", "--json", "-o", "temperature", "0.2", "is", "--", "-x"], params
    )
    assert split.options == ["-m", "gpt", "--json"]
    assert [word for _, word in split.words] == ["What", "is", "-x"]
    assert split.pairs == [("temperature", "0.2")]
    attached = split_words(["--model=gpt", "-pHi", "history"], params)
    assert [word for _, word in attached.words] == ["history"]
    with pytest.raises(UsageError, match="takes a key and a value"):
        split_words(["-o", "seed"], params)


def test_model_options_are_typed_checked_and_stop_repeats() -> None:
    assert parse_options(
        [("temperature", "0.5"), ("maxTokens", "64"), ("stop", "A"), ("stop", "B"), ("seed", "3")]
    ) == {"temperature": 0.5, "max_tokens": 64, "stop": ["A", "B"], "seed": 3}
    with pytest.raises(UsageError, match="known options: temperature, max_tokens"):
        parse_options([("temp", "1")])
    with pytest.raises(UsageError, match="must be between 0 and 1"):
        parse_options([("top_p", "1.5")])
    with pytest.raises(UsageError, match="takes an integer"):
        parse_options([("seed", "1.5")])


def test_the_mock_honours_system_stop_and_max_tokens() -> None:
    mock = MockExecutor(chunks=["one two ", "three END four"])
    seen: list[events.Event] = []
    stopped = mock.run(Request(prompt="x", options={"stop": ["END"]}), seen.append)
    assert (stopped.output, stopped.finish_reason) == ("one two three ", "stop")
    cut = mock.run(Request(prompt="x", options={"max_tokens": 2}), seen.append)
    assert (cut.output, cut.finish_reason) == ("one two ", "length")
    assert mock.messages(Request(prompt="hi", system="Be brief"))[0] == {
        "role": "system",
        "content": "Be brief",
    }


def test_execute_passes_input_system_and_options_and_plan_counts_the_history(
    project: Path,
) -> None:
    mock = MockExecutor(chunks=["an answer of some length"])
    first = execute(RunOptions(prompt="first question", cwd=project), executor=mock)
    options = RunOptions(
        prompt="Review",
        input="the diff",
        system="Be brief",
        model_options={"max_tokens": 3},
        cwd=project,
        resume=first.id,
    )
    result = execute(options, executor=mock)
    request = mock.requests[-1]
    assert (request.system, request.options) == ("Be brief", {"max_tokens": 3})
    assert request.prompt == with_input("Review", "the diff")
    assert (result.finish_reason, result.parent_id) == ("length", first.id)
    assert result.conversation_id == first.id
    stored = open_history().get(str(result.id))
    assert stored is not None and stored["prompt"] == with_input("Review", "the diff")
    assert stored["finishReason"] == "length"

    fresh = plan(RunOptions(prompt="Review", cwd=project), executor=mock)
    resumed = plan(RunOptions(prompt="Review", cwd=project, resume=""), executor=mock)
    assert (fresh.history_turns, resumed.history_turns) == (0, 4)
    assert resumed.conversation_id == first.id
    assert resumed.prompt_tokens >= fresh.prompt_tokens + resumed.history_tokens > 0

    kept = execute(RunOptions(prompt="again", cwd=project, resume=""), executor=mock)
    assert kept.success and mock.messages(mock.requests[-1])[0]["content"] == "Be brief"
    renewed = RunOptions(prompt="once more", system="Be long", cwd=project, resume="")
    execute(renewed, executor=mock)
    systems = [m for m in mock.messages(mock.requests[-1]) if m["role"] == "system"]
    assert systems == [{"role": "system", "content": "Be long"}]  # replaced, not added


def test_units() -> None:
    assert [units.duration(ms) for ms in (412, 3_240, 42_400, 180_419, 192_000, 3_900_000)] == [
        "0.4 s",
        "3.2 s",
        "42 s",
        "3 min",
        "3 min 12 s",
        "1 h 5 min",
    ]
    assert [units.count(n, "file") for n in (0, 1, 2)] == ["0 files", "1 file", "2 files"]
    assert [units.cost(c) for c in (None, 0.0, 0.00012)] == ["cost unknown", "$0", "$0.000120"]
