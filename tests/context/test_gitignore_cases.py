"""Fixed reproductions: the walk outside git selects exactly what git does.

Each case states the files a ``**/*`` selection must hold (``.gitignore`` files included,
as git lists them), and is checked twice: against real git on the same tree made a
repository, and against ccw's walk on the tree before it is one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import RunCcw

from .gitoracle import Files, ccw_selection, disagreement, git_init, git_untracked, write_files

GI = ".gitignore"

CASES: dict[str, tuple[Files, set[str]]] = {
    # A negation or pattern naming an ancestor folder does not reach below that folder.
    "dir-rule-under-negated-parent": (
        {GI: "tmp/\n!b\n", "b/tmp/f": "", "b/g": ""},
        {GI, "b/g"},
    ),
    "anchored-negation-of-parent": (
        {GI: "d*/\n!/tmp\n", "tmp/docs/f": "", "tmp/g": ""},
        {GI, "tmp/g"},
    ),
    "negated-dir-does-not-reinclude-subdirs": (
        {GI: "*/\n!out/\n", "out/foo/abc": "", "out/x": "", "top": ""},
        {GI, "out/x", "top"},
    ),
    "nested-negation-of-folder-name": (
        {GI: "*.log\n", f"d/{GI}": "!src\n", "d/src/x.log": "", "d/src/y.txt": ""},
        {GI, f"d/{GI}", "d/src/y.txt"},
    ),
    "nested-dir-only-negation": (
        {GI: "[a-c]*\n", f"sub/{GI}": "!*/\n", "sub/src/a": "", "sub/src/z": ""},
        {GI, f"sub/{GI}", "sub/src/z"},
    ),
    # A folder's own match is ranked like any other line: the last matching line decides.
    "whitelist-idiom": (
        {GI: "*\n!*/\n!*.txt\n", "a/b/c.txt": "", "a/b/d.md": "", "top.txt": ""},
        {"a/b/c.txt", "top.txt"},
    ),
    "contents-rule-with-kept-file": (
        {GI: "logs/**\n!logs/.gitkeep\n", "logs/.gitkeep": "", "logs/a.log": ""},
        {GI, "logs/.gitkeep"},
    ),
    "nested-negation-under-contents-rule": (
        {GI: "a/**\n", f"a/{GI}": "!keep\n", "a/keep": "", "a/other": ""},
        {GI, "a/keep"},
    ),
    "whitelist-anchored-folder": (
        {GI: "*\n!/d/\n!/d/*.txt\n", "d/a.txt": "", "d/b.md": "", "e.txt": ""},
        {"d/a.txt"},
    ),
    "double-star-then-negated-folder": (
        {GI: "**\n!/lib\n", f"lib/{GI}": "!x\n", "lib/x": "", "lib/y": ""},
        {"lib/x"},
    ),
    "later-dir-rule-beats-earlier-negation": (
        {GI: "!/*/**\ndocs/\n", "x/docs/a": "", "x/b": ""},
        {GI, "x/b"},
    ),
    # Lines git drops or reads in its own way; none may fail the selection.
    "lone-backslash": ({GI: "\\\n", "a": "", "\\": ""}, {GI, "a", "\\"}),
    "trailing-backslash": ({GI: "a\\\n", "a": "", "a\\": ""}, {GI, "a", "a\\"}),
    "escaped-space-then-spaces": (
        {GI: "n\\   \n", "n": "", "n ": "", "n  ": ""},
        {GI, "n", "n  "},
    ),
    "lone-bang": ({GI: "!\n", "a": "", "!": ""}, {GI, "a", "!"}),
    # Line handling.
    "utf8-bom": (
        {GI: b"\xef\xbb\xbfsecret.txt\n", "secret.txt": "", "other.txt": ""},
        {GI, "other.txt"},
    ),
    "trailing-tab-is-kept": ({GI: "name\t\n", "name": "", "name\t": ""}, {GI, "name"}),
    "line-separator-u2028": (
        {GI: "a\u2028b\n", "a": "", "b": "", "a\u2028b": ""},
        {GI, "a", "b"},
    ),
    "next-line-u0085": ({GI: "a\x85b\n", "a": "", "b": "", "a\x85b": ""}, {GI, "a", "b"}),
    "form-feed": ({GI: "a\x0cb\n", "a": "", "b": "", "a\x0cb": ""}, {GI, "a", "b"}),
    "crlf-endings": ({GI: "a\r\nb\r\n", "a": "", "b": "", "c": ""}, {GI, "c"}),
    # Character classes.
    "posix-digit-class": ({GI: "[[:digit:]]*\n", "1a": "", "a1": ""}, {GI, "a1"}),
    "escaped-bracket-in-class": ({GI: "x[\\]]\n", "x]": "", "xa": ""}, {GI, "xa"}),
}


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    return tmp_path / "tree"


@pytest.mark.parametrize("name", list(CASES))
def test_git_agrees_with_the_stated_outcome(name: str, fresh: Path) -> None:
    files, expected = CASES[name]
    write_files(fresh, files)
    git_init(fresh)
    assert git_untracked(fresh) == expected


@pytest.mark.parametrize("name", list(CASES))
def test_walk_selects_what_git_selects(name: str, fresh: Path) -> None:
    files, expected = CASES[name]
    write_files(fresh, files)
    ours = ccw_selection(fresh)
    assert ours == expected, disagreement(files, ours, expected)


STRAY_LINES = ["\\", "a\\", "n\\   ", "!"]


def test_stray_lines_never_fail_a_pack(run_ccw: RunCcw, project: Path) -> None:
    """``ccw pack`` outside git with every stray line at once: no traceback, rules still apply."""
    write_files(
        project,
        {
            GI: "\n".join([*STRAY_LINES, "hidden.txt", ""]),
            "kept.txt": "kept\n",
            "hidden.txt": "hidden\n",
            "n ": "n with a space\n",
        },
    )
    assert not any((folder / ".git").exists() for folder in (project, *project.parents))
    done = run_ccw("pack", "**/*", "--json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    packed = {item["path"] for item in json.loads(done.stdout)["files"]}
    assert "kept.txt" in packed
    assert "hidden.txt" not in packed
    assert "n " not in packed
    assert os.path.exists(project / "n ")
