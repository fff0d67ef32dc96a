"""``ccw pack ARG``: each argument is a pattern exactly as typed, never trimmed like prose."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import RunCcw

from .conftest import write_tree

NAMES = ["a", "a?", "ab", "x.c", "y.h", "trail", "trail.", "note", "note,", "log", "log:"]
NAMES += ["b", "b]", "q?.py", "qa.py", "top.md"]


@pytest.fixture
def files(project: Path) -> Path:
    write_tree(project, {name: f"{name}\n" for name in NAMES})
    write_tree(project, {"sub/deep.c": "deep\n"})
    return project


def packed(run_ccw: RunCcw, *args: str) -> tuple[list[str], dict[str, object]]:
    done = run_ccw("pack", "--no-cache", "--json", *args)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    return [item["path"] for item in data["files"]], data


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("a?", ["a?"]),
        ("*.?", ["x.c", "y.h"]),
        ("x.?", ["x.c"]),
        ("trail.", ["trail."]),
        ("note,", ["note,"]),
        ("log:", ["log:"]),
        ("b]", ["b]"]),
        ("@b]", ["b]"]),
    ],
)
def test_argument_is_the_pattern_as_typed(
    run_ccw: RunCcw, files: Path, pattern: str, expected: list[str]
) -> None:
    assert packed(run_ccw, pattern)[0] == expected


def test_single_character_glob(run_ccw: RunCcw, files: Path) -> None:
    assert packed(run_ccw, "?")[0] == ["a", "b"]


def test_glob_ending_in_a_bracket(run_ccw: RunCcw, files: Path) -> None:
    assert packed(run_ccw, "*]")[0] == ["b]"]


def test_exact_name_wins_but_the_glob_reading_is_mentioned(run_ccw: RunCcw, files: Path) -> None:
    paths, data = packed(run_ccw, "q?.py")
    assert paths == ["q?.py"]
    warnings = data["warnings"]
    assert isinstance(warnings, list)
    assert any("[q]?.py" in warning for warning in warnings), warnings
    assert packed(run_ccw, "[q]?.py")[0] == ["q?.py", "qa.py"]


def test_exclusion_argument_and_output_file(run_ccw: RunCcw, files: Path) -> None:
    assert packed(run_ccw, "*.?", "!y.h")[0] == ["x.c"]
    done = run_ccw("pack", "--no-cache", "*.md", "-o", "out.md")
    assert done.returncode == 0, done.stderr
    again = run_ccw("pack", "--no-cache", "--json", "*.md", "-o", "out.md")
    assert [item["path"] for item in json.loads(again.stdout)["files"]] == ["top.md"]


def test_empty_argument_is_a_usage_error(run_ccw: RunCcw, files: Path) -> None:
    done = run_ccw("pack", "")
    assert done.returncode != 0
    assert "empty pattern" in done.stderr
    assert "Traceback" not in done.stderr


def test_explicit_fifo_is_not_a_regular_file(run_ccw: RunCcw, files: Path) -> None:
    os.mkfifo(files / "pipe")
    paths, data = packed(run_ccw, "pipe")
    assert paths == []
    assert data["skipped"] == [{"path": "pipe", "reason": "not a regular file"}]
    assert not any("no pattern matched" in str(w) for w in data["warnings"])  # type: ignore[attr-defined]
