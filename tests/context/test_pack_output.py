"""``ccw pack -o``: what it writes to when the output is not a plain file."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from tests.conftest import RunCcw


def test_a_symlinked_output_keeps_the_link_and_fills_its_target(
    run_ccw: RunCcw, project: Path, tmp_path: Path
) -> None:
    (project / "a.txt").write_text("alpha\n")
    target = tmp_path / "elsewhere" / "pack.xml"
    target.parent.mkdir()
    target.write_text("old\n")
    link = project / "pack.xml"
    link.symlink_to(target)
    done = run_ccw("pack", "a.txt", "-o", "pack.xml")
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and link.resolve() == target
    assert "alpha" in target.read_text() and "old" not in target.read_text()
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".pack.xml.")]


def test_a_fifo_output_is_written_to_not_replaced(
    run_ccw: RunCcw, project: Path, tmp_path: Path
) -> None:
    """A device or a pipe (``-o /dev/null``, ``-o >(...)``) gets the bytes, as a shell
    redirect would; it is never swapped for a regular file."""
    (project / "a.txt").write_text("alpha\n")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with fifo.open("rb") as handle:
            received.append(handle.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    done = run_ccw("pack", "a.txt", "-o", str(fifo), timeout=60)
    reader.join(timeout=60)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert received and b"alpha" in received[0] and b'<file path="a.txt">' in received[0]
