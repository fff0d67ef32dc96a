"""``ccw pack ARG``: each argument is a pattern exactly as typed, in a folder outside git.

Trailing punctuation and brackets belong to the pattern (``trail.`` is a file, ``*.?`` a
glob), and an exact file name wins over a glob reading (``[id].tsx`` is a file).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RunCcw

from .conftest import write_tree


def body(name: str) -> str:
    return f"content of {name}\n"


def packed(run_ccw: RunCcw, project: Path, names: list[str], *args: str) -> dict[str, object]:
    """Write one small text file per name, run ``ccw pack ARGS --json``; the parsed output."""
    write_tree(project, {name: body(name) for name in names})
    assert not any((folder / ".git").exists() for folder in (project, *project.parents))
    done = run_ccw("pack", *args, "--json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return dict(json.loads(done.stdout))


def paths(result: dict[str, object]) -> set[str]:
    files = result["files"]
    assert isinstance(files, list)
    return {item["path"] for item in files}


@pytest.mark.parametrize(
    ("pattern", "names", "expected"),
    [
        ("a?", ["a", "ab", "abc"], {"ab"}),
        ("*.?", ["x.c", "x.py", "README"], {"x.c"}),
        ("*]", ["a]", "b", "c.txt"], {"a]"}),
        ("x.?", ["x.c", "x.py"], {"x.c"}),
        ("?", ["a", "bb"], {"a"}),
        ("trail.", ["trail.", "trail"], {"trail."}),
        ("note,", ["note,", "note"], {"note,"}),
        ("log:", ["log:", "log"], {"log:"}),
        ("b]", ["b]", "b"], {"b]"}),
        ("[id].tsx", ["[id].tsx", "i.tsx", "d.tsx"], {"[id].tsx"}),
    ],
)
def test_pattern_is_taken_as_typed(
    run_ccw: RunCcw, project: Path, pattern: str, names: list[str], expected: set[str]
) -> None:
    assert paths(packed(run_ccw, project, names, pattern)) == expected


def test_glob_that_is_also_a_file_name(run_ccw: RunCcw, project: Path) -> None:
    """``a?`` names the file ``a?``, which is packed; ``a`` never is. The other glob match
    ``ab`` is either packed too or named in a warning that says how to get it."""
    result = packed(run_ccw, project, ["a", "ab", "a?"], "a?")
    chosen = paths(result)
    assert "a?" in chosen
    assert "a" not in chosen
    warnings = result["warnings"]
    assert isinstance(warnings, list)
    assert "ab" in chosen or any("ab" in str(message) for message in warnings)


def test_plain_output_packs_the_file_as_typed(run_ccw: RunCcw, project: Path) -> None:
    write_tree(project, {name: body(name) for name in ["trail.", "trail", "x.c", "x"]})
    done = run_ccw("pack", "trail.", "x.?")
    assert done.returncode == 0, done.stderr
    assert body("trail.") in done.stdout
    assert body("x.c") in done.stdout
    assert body("trail") not in done.stdout
    assert body("x") not in done.stdout
    assert "2 files" in done.stderr
