"""The work a pack does at scale: git's listing read as two sorted runs (an unmerged path
once), matches held as runs of paths (no object per match), and a count-limited pack that
makes a ``Match`` only for the files it looks at."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ccw.context import select
from ccw.context.api import ContextResult
from ccw.context.parse import Pattern
from ccw.context.select import Match, Matches, Selector

from .conftest import Tree, git_init

Pack = Callable[..., ContextResult]
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", "-c", "commit.gpgsign=false"]


def git(root: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=root, check=False, capture_output=True)


def test_an_unmerged_path_is_listed_once(tree: Callable[[Tree], Path], pack: Pack) -> None:
    root = tree({"a.txt": "base\n", "z.txt": "z\n"})
    git_init(root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    git(root, "checkout", "-qb", "other")
    (root / "a.txt").write_text("other\n")
    git(root, "commit", "-qam", "other")
    git(root, "checkout", "-q", "-")
    (root / "a.txt").write_text("main\n")
    git(root, "commit", "-qam", "main")
    git(root, "merge", "other")
    (root / "new.txt").write_text("untracked\n")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    assert listed.count(b"a.txt") == 3  # one line per stage: the listing must fold them
    result = pack("@.", root, use_cache=False)
    assert [item.path for item in result.files] == ["a.txt", "new.txt", "z.txt"]


def test_matches_are_runs_that_give_back_each_match() -> None:
    matches = Matches()
    matches.add(["n.txt"], ("/r",), True)
    matches.add(["a.py", "b.md"], ("/r",), False)
    matches.add([], ("/r", "/x"), False)
    matches.add(["c.py"], ("/r",), False)  # same kind as the run before: one run
    matches.add(["../o.py"], ("/r", "/o"), False)
    expected = [
        Match("n.txt", ("/r",), True),
        Match("a.py", ("/r",), False),
        Match("b.md", ("/r",), False),
        Match("c.py", ("/r",), False),
        Match("../o.py", ("/r", "/o"), False),
    ]
    assert list(matches) == expected
    assert [matches[index] for index in range(len(matches))] == expected
    assert [(start, end, explicit) for start, end, _, explicit in matches.spans()] == [
        (0, 1, True),
        (1, 4, False),
        (4, 5, False),
    ]
    assert list(Matches()) == [] and list(Matches().spans()) == []


def test_several_patterns_keep_each_path_once_in_pack_order(
    tree: Callable[[Tree], Path],
) -> None:
    root = tree({"src/a.py": "a", "src/b.py": "b", "docs/c.md": "c", "d.txt": "d"})
    selector = Selector(root, [], [], None)
    selection = selector.run([Pattern("src/b.py"), Pattern("src"), Pattern("**/*.{md,py}")])
    assert [(m.rel, m.explicit) for m in selection.matches] == [
        ("src/b.py", True),
        ("src/a.py", False),
        ("docs/c.md", False),
    ]


def test_a_count_limited_pack_makes_a_match_only_for_what_it_looks_at(
    tree: Callable[[Tree], Path], pack: Pack, monkeypatch: pytest.MonkeyPatch
) -> None:
    files: Tree = {f"data/{n:03d}.json": "{}\n" for n in range(300)}
    files.update({f"src/m{n}.py": "x = 1\n" for n in range(3)})
    root = tree(files)
    made: list[str] = []
    original = select.Matches.__getitem__

    def counted(self: Matches, index: int) -> Match:
        match = original(self, index)
        made.append(match.rel)
        return match

    monkeypatch.setattr(select.Matches, "__getitem__", counted)
    monkeypatch.setattr(select.Matches, "__iter__", lambda self: pytest.fail("iterated"))
    result = pack("@.", root, use_cache=False, max_files=4)
    assert [item.path for item in result.files] == [
        "data/000.json",
        *(f"src/m{n}.py" for n in range(3)),
    ]
    assert result.left_out == {"file count limit (4) reached": 299}
    # stat'ed (4) and grouped (4): nothing of the 299 files left out becomes an object
    assert len(made) == 8 and set(made) == {item.path for item in result.files}
