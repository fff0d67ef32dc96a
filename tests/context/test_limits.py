"""Limits: which files a cut pack keeps and why, the work they bound, the fix they name,
and a pack too large for the cache that is never written."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from ccw.context import select
from ccw.context.api import ContextResult
from ccw.context.limits import group
from ccw.context.select import Match
from ccw.errors import CcwError
from tests.conftest import RunCcw

from .conftest import Tree, age, write_tree
from .test_cli import configure

Pack = Callable[..., ContextResult]
RULE_TREE: Tree = {
    "named.txt": "n" * 300,
    "big.py": "b" * 400,
    "small.py": "s" * 50,
    "data.json": "d" * 10,
    "notes.md": "m" * 100,
}


def paths(result: ContextResult) -> list[str]:
    return [item.path for item in result.files]


def test_groups_rank_named_then_source_then_other() -> None:
    def of(rel: str, explicit: bool = False) -> int:
        return group(Match(rel, (), explicit))

    assert [of("a.json", explicit=True), of("src/x.py"), of("Makefile"), of("x.json")] == [
        0,
        1,
        1,
        2,
    ]
    assert [of(".py"), of("README"), of("locale/de/django.po")] == [2, 2, 2]


def test_size_limit_keeps_named_then_source_smaller_first_in_pack_order(
    tree: Callable[[Tree], Path], pack: Pack
) -> None:
    root = tree(RULE_TREE)
    result = pack("@named.txt @.", root, use_cache=False, max_total_bytes=500)
    # named.txt (300) first, then source smaller first (small.py; big.py no longer fits),
    # then the other files; written in pack order: the named pattern, then the folder's.
    assert paths(result) == ["named.txt", "data.json", "notes.md", "small.py"]
    assert [(s.path, s.reason) for s in result.skipped] == [
        ("big.py", "total size limit of 500 bytes reached")
    ]
    assert result.rule == (
        "limits cut the pack: the total size limit kept named files, then source files, "
        "then other files, smaller before larger"
    )
    assert result.left_out == {}
    whole = pack("@named.txt @.", root, use_cache=False)
    assert whole.rule is None and paths(whole) == [
        "named.txt",
        "big.py",
        "data.json",
        "notes.md",
        "small.py",
    ]


def test_count_limit_stats_only_what_it_can_hold_and_counts_the_rest(
    tree: Callable[[Tree], Path], pack: Pack, monkeypatch: pytest.MonkeyPatch
) -> None:
    files: Tree = {f"data/{n:02d}.json": "{}\n" for n in range(30)}
    files.update({"src/z.py": "z\n", "README.md": "r\n"})
    root = tree(files)
    stat = select.Selector.stat
    seen: list[str] = []

    def counted(self: select.Selector, match: Match) -> select.Candidate | None:
        seen.append(match.rel)
        return stat(self, match)

    monkeypatch.setattr(select.Selector, "stat", counted)
    result = pack("@data/07.json @.", root, use_cache=False, max_files=3)
    assert paths(result) == ["data/07.json", "README.md", "src/z.py"]
    assert seen == ["data/07.json", "src/z.py", "README.md"]
    assert result.left_out == {"file count limit (3) reached": 29}
    assert result.skipped == []
    assert result.rule is not None and result.rule.startswith(
        "limits cut the pack: the file count limit (3) took named files, then source files, "
        "then other files, in path order"
    )


def test_limits_are_replayed_from_the_cache(tree: Callable[[Tree], Path], pack: Pack) -> None:
    root = tree({f"f{n}.txt": f"{n}\n" for n in range(6)})
    age(root)
    first = pack("@*.txt", root, max_files=2)
    again = pack("@*.txt", root, max_files=2)
    assert (first.cache_used, again.cache_used) == (False, True)
    assert again.left_out == first.left_out == {"file count limit (2) reached": 4}
    assert again.rule == first.rule is not None


def test_overflow_fail_names_the_limit_and_what_raises_it(
    tree: Callable[[Tree], Path], pack: Pack
) -> None:
    root = tree({"a.txt": "a" * 600, "b.txt": "b" * 600})
    with pytest.raises(CcwError) as count:
        pack("@*.txt", root, max_files=1, on_overflow="fail")
    assert "2 files match, more than the file count limit of 1" in count.value.message
    assert count.value.fix is not None and "--max-files" in count.value.fix
    with pytest.raises(CcwError) as size:
        pack("@*.txt", root, max_total_bytes=1000, on_overflow="fail")
    assert size.value.fix is not None
    assert "total size limit" in size.value.fix and "--max-size-kb" in size.value.fix
    assert "maxSizeKB" in size.value.fix and "maxSizeKB" not in (count.value.fix or "")


def test_a_pack_over_the_cache_limit_is_never_written(
    tree: Callable[[Tree], Path], pack: Pack, tmp_path: Path
) -> None:
    root = tree({"a.txt": "a" * 60_000, "b.txt": "b" * 60_000})
    age(root)
    result = pack("@*.txt", root, max_cache_bytes=100_000)
    assert len(result.files) == 2 and result.session_id is None
    assert any(
        w.startswith("the pack's files (117 KB) are larger than the cache limit of 97 KB")
        for w in result.warnings
    )
    database = tmp_path / "cache" / "context.db"
    if database.exists():
        with sqlite3.connect(database) as conn:
            assert conn.execute("SELECT COUNT(*) FROM chunks").fetchone() == (0,)
            assert conn.execute("PRAGMA freelist_count").fetchone() == (0,)
        assert b"a" * 1000 not in database.read_bytes()
    fits = pack("@a.txt", root, max_cache_bytes=100_000)
    assert fits.session_id is not None


@pytest.fixture
def many(project: Path, tmp_path: Path) -> Path:
    files: Tree = {f"data/{n:03d}.txt": f"{n}\n" for n in range(40)}
    files["src/main.py"] = "main\n"
    write_tree(project, files)
    configure(project, tmp_path / "cache")
    age(project)
    return project


def test_cli_summarises_what_the_count_limit_left_out(run_ccw: RunCcw, many: Path) -> None:
    done = run_ccw("pack", ".", "--max-files", "5", "--no-cache")
    assert done.returncode == 0, done.stderr
    assert "36 more not looked at: file count limit (5) reached" in done.stderr
    assert "limits cut the pack: the file count limit (5) took source files" in done.stderr
    assert "skipped data/" not in done.stderr
    assert "5 files," in done.stderr and "36 skipped" in done.stderr
    as_json = json.loads(run_ccw("pack", ".", "--max-files", "5", "--json").stdout)
    assert as_json["cachedFiles"][-1] == "src/main.py" and len(as_json["cachedFiles"]) == 5
    assert as_json["leftOutByLimit"] == {"file count limit (5) reached": 36}
    assert as_json["selectionRule"].startswith("limits cut the pack")


def test_cli_count_overflow_fails_naming_the_flag(run_ccw: RunCcw, many: Path) -> None:
    failed = run_ccw("pack", ".", "--max-files", "5", "--on-overflow", "fail")
    assert failed.returncode == 1 and failed.stdout == ""
    assert "41 files match, more than the file count limit of 5" in failed.stderr
    assert "--max-files 41" in failed.stderr and "Traceback" not in failed.stderr


def test_cli_pattern_matching_nothing_fails_unless_allowed(run_ccw: RunCcw, many: Path) -> None:
    failed = run_ccw("pack", "src/main.py", "nope/*.rs", "--no-cache")
    assert failed.returncode == 2 and failed.stdout == ""
    assert "'nope/*.rs' matched no file in " in failed.stderr and str(many) in failed.stderr
    assert "--allow-empty" in failed.stderr and "Traceback" not in failed.stderr
    allowed = run_ccw("pack", "src/main.py", "nope/*.rs", "--allow-empty", "--no-cache")
    assert allowed.returncode == 0
    assert "main" in allowed.stdout and "'nope/*.rs' matched no file" in allowed.stderr


def test_cli_reads_a_missing_pattern_from_the_project_root(run_ccw: RunCcw, many: Path) -> None:
    done = run_ccw("pack", "src/main.py", "--no-cache", "--format", "plain", cwd=many / "data")
    assert done.returncode == 0, done.stderr
    assert "FILE: ../src/main.py" in done.stdout
    assert f"it was read from the project root {many}" in done.stderr


def test_cli_dry_run_lists_the_files_and_the_rule_and_writes_nothing(
    run_ccw: RunCcw, many: Path, tmp_path: Path
) -> None:
    done = run_ccw("pack", ".", "--max-files", "3", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["data/000.txt", "data/001.txt", "src/main.py"]
    assert "limits cut the pack: the file count limit (3) took source files" in done.stderr
    assert not (tmp_path / "cache").exists()
    as_json = json.loads(run_ccw("pack", ".", "--max-files", "3", "--dry-run", "--json").stdout)
    assert as_json["pack"] is None and as_json["cachedFiles"][-1] == "src/main.py"
    assert as_json["selectionRule"].startswith("limits cut the pack")


def test_cli_error_leaves_the_output_file_as_it_was(run_ccw: RunCcw, many: Path) -> None:
    (many / "src" / "big.py").write_text("x = 1\n" * 400)
    target = many / "context.txt"
    target.write_text("the previous pack\n")
    failed = run_ccw("pack", "nope/*.rs", "-o", str(target))
    assert failed.returncode == 2
    overflow = run_ccw(
        "pack", ".", "--max-size-kb", "1", "--on-overflow", "fail", "-o", str(target)
    )
    assert overflow.returncode == 1 and "--max-size-kb" in overflow.stderr
    assert target.read_text() == "the previous pack\n"
    assert sorted(p.name for p in many.iterdir()) == [".ccw", "context.txt", "data", "src"]
    done = run_ccw("pack", "src/main.py", "-o", str(target), "--format", "plain")
    assert done.returncode == 0 and "FILE: src/main.py" in target.read_text()
    assert sorted(p.name for p in many.iterdir()) == [".ccw", "context.txt", "data", "src"]
