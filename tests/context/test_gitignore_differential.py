"""Differential tests: ccw's selection outside git against real git on the same random trees.

Hypothesis draws small trees (at most 12 files, 3 levels) with nested ``.gitignore`` files
written in a grammar of tricky rules, selects ``**/*`` with ccw's walk (the tree is no
repository), and runs ``git ls-files --others --exclude-standard`` on the same tree as the
work tree of one empty repository made by ``git init`` for the module.
A second test compares ``@pattern`` globs (no braces) with git's ``:(glob)`` pathspec. Any
disagreement fails with the shrunk tree, the rules and the paths only one side has.

Examples are derandomized, so CI sees the same trees every run; ``CCW_DIFF_EXAMPLES=5000``
runs more by hand. Run these alone with ``pytest -k differential``.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ccw.context.globs import is_glob

from .gitoracle import ccw_selection, describe, disagreement, git_init, git_untracked, write_files

EXAMPLES = int(os.environ.get("CCW_DIFF_EXAMPLES", "200"))
pytestmark = pytest.mark.timeout(120 + EXAMPLES)
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Names with spaces (inner and trailing), brackets, unicode, leading '#' and '!', dots and
# digits, and folder names ccw's policy would leave out (the selection here asks for none).
# Folders come from a smaller set, so that files share them and rules about folders meet
# files below them.
NAMES = [
    "a",
    "b",
    "ab",
    "a b",
    "n ",
    "a.txt",
    "b.log",
    ".d",
    "x.c",
    "1a",
    "[x]",
    "x]",
    "a[b",
    "#h",
    "!n",
    "é",
    "ü.md",
    "tmp",
    "docs",
    "dist",
]
FOLDERS = ["a", "b", "tmp", "docs", "build", "[x]", "#h", "!n", "é", "a b", "n "]

# One path segment of a rule: names as written (so '#', '!', '[' and spaces keep their
# meaning), escapes, wildcards, classes (ranges, negated, POSIX, with ']'), and line
# separators git does not split at.
RULE_SEGMENTS = [
    *NAMES,
    "*",
    "?",
    "**",
    "a*",
    "*.txt",
    "*.log",
    ".*",
    "?.*",
    "[a-c]*",
    "[!a]*",
    "[^a]*",
    "[[:digit:]]*",
    "[[:alpha:]]",
    "[]]",
    "x[\\]]",
    "\\[x\\]",
    "\\#h",
    "\\!n",
    "a\\ b",
    "n\\ ",
    "\\a",
    "é*",
    "a\u2028b",
    "a\x85b",
    "a\x0cb",
]

SPECIAL_LINES = ["", "   ", "#a", "# comment", "\\", "!", "a\\", "n\\   ", "\t"]


def weighted(common: str, *rare: str) -> st.SearchStrategy[str]:
    """``common`` half of the time (and when shrinking), else one of ``rare``."""
    return st.one_of(st.just(common), st.sampled_from(rare))


@st.composite
def rules(draw: st.DrawFn) -> str:
    """One ``.gitignore`` line: mostly one or two segments, decorations now and then."""
    if draw(st.integers(0, 7)) == 0:
        return draw(st.sampled_from(SPECIAL_LINES))
    segments = draw(st.lists(st.sampled_from(RULE_SEGMENTS), min_size=1, max_size=2))
    bang = draw(weighted("", "!"))
    lead = draw(weighted("", "/", "**/"))
    tail = draw(weighted("", "/", "/**", "/**/*", "/**/"))
    space = draw(weighted("", " ", "  ", "\t", "\\ ", "\\"))
    return bang + lead + "/".join(segments) + tail + space


@dataclass(frozen=True)
class IgnoreFile:
    lines: tuple[str, ...]
    crlf: bool
    bom: bool
    final_newline: bool

    def content(self) -> bytes:
        text = ("\r\n" if self.crlf else "\n").join(self.lines)
        if self.final_newline and self.lines:
            text += "\r\n" if self.crlf else "\n"
        return (b"\xef\xbb\xbf" if self.bom else b"") + text.encode("utf-8")


ignore_files = st.builds(
    IgnoreFile,
    lines=st.lists(rules(), min_size=1, max_size=5).map(tuple),
    crlf=st.booleans(),
    bom=st.booleans(),
    final_newline=st.booleans().map(lambda drawn: not drawn),
)
paths = st.builds(
    lambda folders, name: "/".join([*folders, name]),
    st.lists(st.sampled_from(FOLDERS), max_size=2),
    st.sampled_from(NAMES),
)


@st.composite
def trees(draw: st.DrawFn) -> dict[str, str | bytes]:
    """Files (content = own path) plus ``.gitignore`` files in the root or in folders that
    hold files; a file whose path is also a folder of another file is dropped."""
    drawn = draw(st.lists(paths, min_size=1, max_size=12, unique=True))
    folders = {rel.rsplit("/", 1)[0] for rel in drawn if "/" in rel}
    folders |= {folder.rsplit("/", 1)[0] for folder in list(folders) if "/" in folder}
    entries: dict[str, str | bytes] = {rel: rel for rel in drawn if rel not in folders}
    places = st.sampled_from(["", *sorted(folders)])
    for folder, ignore in draw(st.dictionaries(places, ignore_files, max_size=3)).items():
        entries[f"{folder}/.gitignore" if folder else ".gitignore"] = ignore.content()
    return entries


GLOB_SEGMENTS = [
    *NAMES,
    "*",
    "?",
    "**",
    "a*",
    "*b",
    "*.txt",
    "*.?",
    "?.*",
    ".*",
    "[a-c]*",
    "[!a]*",
    "[^a]*",
    "[[:digit:]]*",
    "[]]",
    "*]",
    "\\[x\\]",
    "a?",
    "é*",
]

globs = st.lists(st.sampled_from(GLOB_SEGMENTS), min_size=1, max_size=3).map("/".join)


def selected(tree: dict[str, str | bytes], root: Path, pattern: str = "**/*") -> set[str]:
    """ccw's selection; a crash fails with the tree that caused it."""
    try:
        return ccw_selection(root, pattern)
    except Exception as error:
        raise AssertionError(
            f"selection for {pattern!r} failed: {error!r}\ntree:\n{describe(tree)}"
        ) from error


@pytest.fixture(scope="module")
def git_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One empty repository whose work tree each example points at its own tree."""
    folder = tmp_path_factory.mktemp("oracle")
    git_init(folder)
    return folder / ".git"


@given(tree=trees())
@SETTINGS
def test_differential_walk_matches_git_ls_files(
    git_dir: Path, tree: dict[str, str | bytes]
) -> None:
    with tempfile.TemporaryDirectory(prefix="ccw-diff-") as folder:
        root = write_files(Path(folder) / "tree", tree)
        ours = selected(tree, root)
        theirs = git_untracked(root, git_dir=git_dir)
    assert ours == theirs, disagreement(tree, ours, theirs)


@given(tree=trees(), patterns=st.lists(globs, min_size=1, max_size=3, unique=True))
@SETTINGS
def test_differential_globs_match_git_pathspec(
    git_dir: Path, tree: dict[str, str | bytes], patterns: list[str]
) -> None:
    """A glob that also names an existing path is read as that path (as typed), so only
    globs naming no path are compared."""
    with tempfile.TemporaryDirectory(prefix="ccw-diff-") as folder:
        root = write_files(Path(folder) / "tree", tree)
        chosen = [p for p in patterns if is_glob(p) and not os.path.lexists(root / p)]
        ours = {pattern: selected(tree, root, pattern) for pattern in chosen}
        theirs = {pattern: git_untracked(root, pattern, git_dir) for pattern in chosen}
    for pattern in chosen:
        assert ours[pattern] == theirs[pattern], disagreement(
            tree, ours[pattern], theirs[pattern], pattern
        )
