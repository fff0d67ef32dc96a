"""A file swapped or grown between selection and reading never leaks, hangs or overflows.

The deterministic tests make the change right after selection (``plan`` wrapped, the
one moment a real race would have to hit); the race test lets a thread swap a file back and
forth while packs run, a few hundred times, and checks what each pack holds.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import ccw.context.packing as build
from ccw.context.api import ContextResult
from ccw.context.limits import Plan

from .conftest import write_tree

Pack = Callable[..., ContextResult]
OUTSIDE = "OUTSIDE-CONTENT-never-packed\n"
INSIDE = "inside = 1\n"
# A pack that would block on a FIFO is stopped by this bound instead of hanging the suite.
HANG_BOUND_S = 60


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_tree(tmp_path / "outside", {"secret.txt": OUTSIDE})
    return write_tree(tmp_path / "tree", {"src/a.py": INSIDE, "src/b.py": "b = 2\n"})


def after_selection(monkeypatch: pytest.MonkeyPatch, change: Callable[[], None]) -> None:
    """Run ``change`` once selection has stat-ed the files and before any is read."""
    choose = build.plan

    def wrapped(*args: Any, **kwargs: Any) -> Plan:
        chosen = choose(*args, **kwargs)
        change()
        return chosen

    monkeypatch.setattr(build, "plan", wrapped)


def run_bounded(work: Callable[[], ContextResult]) -> ContextResult:
    """``work()`` in a thread; fails (instead of hanging) if it blocks."""
    done: list[ContextResult] = []
    failed: list[BaseException] = []

    def target() -> None:
        try:
            done.append(work())
        except BaseException as error:
            failed.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_BOUND_S)
    if failed:
        raise failed[0]
    assert done, "the pack blocked"
    return done[0]


def swap_for_symlink(path: Path, target: Path) -> None:
    temporary = path.with_name(path.name + ".swap")
    temporary.symlink_to(target)
    os.replace(temporary, path)


def swap_for_fifo(path: Path) -> None:
    temporary = path.with_name(path.name + ".swap")
    os.mkfifo(temporary)
    os.replace(temporary, path)


def reasons(result: ContextResult) -> dict[str, str]:
    return {item.path: item.reason for item in result.skipped}


def test_file_swapped_for_an_outside_symlink_after_selection_is_left_out(
    project: Path, tmp_path: Path, pack: Pack, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = project / "src" / "a.py"
    after_selection(
        monkeypatch, lambda: swap_for_symlink(target, tmp_path / "outside" / "secret.txt")
    )
    result = pack("@src/*.py", project, use_cache=False)
    assert OUTSIDE not in result.pack
    assert [item.path for item in result.files] == ["src/b.py"]
    assert "symlink" in reasons(result)["src/a.py"]


def test_file_swapped_for_a_fifo_after_selection_is_left_out_without_blocking(
    project: Path, pack: Pack, monkeypatch: pytest.MonkeyPatch
) -> None:
    after_selection(monkeypatch, lambda: swap_for_fifo(project / "src" / "a.py"))
    result = run_bounded(lambda: pack("@src/*.py", project, use_cache=False))
    assert [item.path for item in result.files] == ["src/b.py"]
    assert "regular file" in reasons(result)["src/a.py"]


def test_file_replaced_by_another_after_selection_is_left_out(
    project: Path, pack: Pack, monkeypatch: pytest.MonkeyPatch
) -> None:
    def replace() -> None:
        other = project / "src" / "new.tmp"
        other.write_text("swapped = True\n")
        os.replace(other, project / "src" / "a.py")

    after_selection(monkeypatch, replace)
    result = pack("@src/*.py", project, use_cache=False)
    assert "swapped" not in result.pack
    assert "another file" in reasons(result)["src/a.py"]


def test_file_grown_past_the_limit_after_its_stat_is_left_out(
    project: Path, pack: Pack, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = 4096
    grown = project / "src" / "a.py"

    def grow() -> None:
        with grown.open("a") as handle:
            handle.write("x = 0\n" * limit)

    after_selection(monkeypatch, grow)
    result = pack("@src/*.py", project, use_cache=False, max_file_bytes=limit)
    assert [item.path for item in result.files] == ["src/b.py"]
    assert "grew past the per-file limit" in reasons(result)["src/a.py"]
    assert result.pack_bytes < limit


def test_symlink_inside_the_project_is_still_packed(project: Path, pack: Pack) -> None:
    (project / "src" / "link.py").symlink_to(project / "src" / "a.py")
    result = pack("@src/*.py", project, use_cache=False)
    assert [item.path for item in result.files] == ["src/a.py", "src/b.py", "src/link.py"]
    assert result.pack.count(INSIDE) == 2


@pytest.fixture
def swapper(project: Path, tmp_path: Path) -> Iterator[threading.Event]:
    """A thread that keeps swapping ``src/a.py`` between the real file, a symlink to an
    outside file and a FIFO, until the event is set."""
    stop = threading.Event()
    target = project / "src" / "a.py"
    real = project / "a.real"
    real.write_text(INSIDE)

    def loop() -> None:
        while not stop.is_set():
            swap_for_symlink(target, tmp_path / "outside" / "secret.txt")
            os.link(real, target.with_name("a.hard"))
            os.replace(target.with_name("a.hard"), target)
            swap_for_fifo(target)
            os.link(real, target.with_name("a.hard"))
            os.replace(target.with_name("a.hard"), target)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield stop
    stop.set()
    thread.join(HANG_BOUND_S)


def test_racing_swaps_never_leak_or_hang(
    project: Path, pack: Pack, swapper: threading.Event
) -> None:
    def packs() -> ContextResult:
        seen: dict[str, int] = {}
        last = None
        for _ in range(300):
            last = pack("@src/*.py", project, use_cache=False)
            assert OUTSIDE not in last.pack
            for item in last.files:
                seen[item.path] = seen.get(item.path, 0) + 1
        assert seen.get("src/b.py") == 300
        assert last is not None
        return last

    run_bounded(packs)
