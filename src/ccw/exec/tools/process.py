"""Run one child process: prompt in on stdin, output streamed out in chunks, a hard deadline.

Three small threads keep the pipes moving whatever the child does first: one writes
standard input (a long prompt must not deadlock against a child that answers early),
one reads standard output into a queue the caller's thread drains, one copies standard
error through to ours while keeping its tail for the error message.

The child runs in its own session, so a terminal's Ctrl-C or a SIGTERM sent to ccw does not
reach it by itself: while it runs, SIGINT, SIGTERM and SIGHUP to ccw end the child's whole
process group (SIGTERM, then SIGKILL after the grace period) before ccw acts on the signal
as it would have (KeyboardInterrupt for SIGINT, the previous handler for the others).
"""

from __future__ import annotations

import codecs
import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

CHUNK = 65536
STDERR_TAIL = 4000
# How long output may keep coming after the child exited, and how long the pipe threads
# get to finish after that: something the child started can hold its pipes open forever.
_DRAIN_SECONDS = 2.0
_JOIN_SECONDS = 0.5
_POLL_SECONDS = 0.2
# After the child itself ended, how long the rest of its group gets before SIGKILL.
_GROUP_GRACE_SECONDS = 0.5
FORWARDED_SIGNALS = (
    (signal.SIGINT, signal.SIGTERM, signal.SIGHUP) if os.name == "posix" else (signal.SIGINT,)
)


@dataclass
class ProcessOutcome:
    returncode: int
    output: str
    stderr_tail: str
    timed_out: bool = False
    killed: bool = False  # still running after SIGTERM and the grace period
    signalled: int | None = None  # the signal ccw got while the child ran


def run_process(
    argv: Sequence[str],
    *,
    stdin: bytes,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float | None,
    on_output: Callable[[str], None] | None,
    kill_grace: float,
) -> ProcessOutcome:
    """Run ``argv`` to completion or to ``timeout`` seconds, then terminate, then kill.

    Raises ``OSError`` (``FileNotFoundError`` and friends) when the child cannot start.
    A negative return code (killed by signal N) is reported as ``128 + N``, as shells do.
    """
    signalled: list[int] = []
    started: list[subprocess.Popen[bytes]] = []

    def on_signal(signum: int) -> None:
        signalled.append(signum)
        if started:
            _signal(started[0], signal.SIGTERM)  # the whole group at once; _stop finishes

    with _signals_end(on_signal):
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=dict(env),
            start_new_session=os.name == "posix",
        )
        started.append(proc)
        if signalled:  # it came while the child was starting
            _signal(proc, signal.SIGTERM)
        outcome = _supervise(
            proc, stdin, timeout, on_output, kill_grace, stopped=lambda: bool(signalled)
        )
    if signalled:
        outcome.signalled = signalled[0]
        _act_on(signalled[0])
    return outcome


def _supervise(
    proc: subprocess.Popen[bytes],
    stdin: bytes,
    timeout: float | None,
    on_output: Callable[[str], None] | None,
    kill_grace: float,
    stopped: Callable[[], bool],
) -> ProcessOutcome:
    """Feed, read and wait for the started child until it ends, the deadline passes or
    ``stopped()``; the child is ended in the last two cases."""
    assert proc.stdin and proc.stdout and proc.stderr
    chunks: queue.Queue[bytes | None] = queue.Queue()
    stderr = _StderrPump(proc.stderr)
    threads = [
        threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True),
        threading.Thread(target=_read, args=(proc.stdout, chunks), daemon=True),
        threading.Thread(target=stderr.run, daemon=True),
    ]
    for thread in threads:
        thread.start()

    deadline = None if timeout is None else time.monotonic() + timeout
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    parts: list[str] = []

    def emit(data: bytes, final: bool = False) -> None:
        text = decoder.decode(data, final=final)
        if text:
            parts.append(text)
            if on_output:
                on_output(text)

    outcome = ProcessOutcome(returncode=0, output="", stderr_tail="")
    try:
        ended = _pump_until_eof(chunks, proc, deadline, emit, stopped)
        ended = ended and _wait(proc, deadline, stopped)
        outcome.timed_out = not ended and not stopped()
        if not ended or stopped():
            outcome.killed = _stop(proc, kill_grace)
    finally:
        if proc.poll() is None:
            _stop(proc, kill_grace)
    drained_by = time.monotonic() + _JOIN_SECONDS
    for thread in threads:
        thread.join(max(0.0, drained_by - time.monotonic()))
    while not chunks.empty():
        data = chunks.get_nowait()
        if data:
            emit(data)
    emit(b"", final=True)
    outcome.output = "".join(parts)
    outcome.stderr_tail = stderr.tail()
    code = proc.returncode
    outcome.returncode = 128 - code if code < 0 else code
    return outcome


@contextlib.contextmanager
def _signals_end(on_signal: Callable[[int], None]) -> Iterator[None]:
    """While the block runs, ``FORWARDED_SIGNALS`` call ``on_signal`` instead of their handler.

    A signal ccw ignores (``nohup`` ignores SIGHUP) stays ignored. Signal handlers belong to
    the main thread: elsewhere (a server's worker) nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {
        signum: signal.signal(signum, lambda number, _frame: on_signal(number))
        for signum in FORWARDED_SIGNALS
        if signal.getsignal(signum) is not signal.SIG_IGN
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _act_on(signum: int) -> None:
    """Do what the signal would have done had no child been running: Ctrl-C interrupts,
    the others go to the handler they had (by default: ccw ends, with the signal's status)."""
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    os.kill(os.getpid(), signum)


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _pump_until_eof(
    chunks: queue.Queue[bytes | None],
    proc: subprocess.Popen[bytes],
    deadline: float | None,
    emit: Callable[[bytes], None],
    stopped: Callable[[], bool],
) -> bool:
    """Hand output to ``emit`` until stdout closes or the child is gone (True), or the deadline
    or ``stopped()`` (False).

    A child that exits while something it started keeps its stdout open counts as done
    ``_DRAIN_SECONDS`` after it exited.
    """
    exited_at: float | None = None
    while True:
        wait = _remaining(deadline)
        if wait == 0.0 or stopped():
            return False
        try:
            data = chunks.get(timeout=_POLL_SECONDS if wait is None else min(wait, _POLL_SECONDS))
        except queue.Empty:
            if proc.poll() is not None:
                exited_at = exited_at or time.monotonic()
                if time.monotonic() - exited_at > _DRAIN_SECONDS:
                    return True
            continue
        if data is None:
            return True
        emit(data)


def _wait(
    proc: subprocess.Popen[bytes], deadline: float | None, stopped: Callable[[], bool]
) -> bool:
    """Wait for the child to exit (True), or for the deadline or ``stopped()`` (False)."""
    while proc.poll() is None:
        wait = _remaining(deadline)
        if wait == 0.0 or stopped():
            return False
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=_POLL_SECONDS if wait is None else min(wait, _POLL_SECONDS))
    return True


def _stop(proc: subprocess.Popen[bytes], grace: float) -> bool:
    """End the child's process group: SIGTERM, then SIGKILL to whatever is left of it once
    the child has had ``grace`` seconds (the rest of its group a little more). True if the
    child itself had to be killed."""
    _signal(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
        killed = False
    except subprocess.TimeoutExpired:
        killed = True
    if not killed:
        left_by = time.monotonic() + min(grace, _GROUP_GRACE_SECONDS)
        while _group_alive(proc) and time.monotonic() < left_by:
            time.sleep(0.02)
    _signal(proc, signal.SIGKILL if os.name == "posix" else signal.SIGTERM)
    proc.wait()
    return killed


def _group_alive(proc: subprocess.Popen[bytes]) -> bool:
    if os.name != "posix":
        return False
    try:
        os.killpg(proc.pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, sig)
        elif sig == signal.SIGTERM:
            proc.terminate()
    except (ProcessLookupError, PermissionError):
        pass


def _feed(pipe: IO[bytes], data: bytes) -> None:
    # OSError (a broken pipe): the child exited without reading all of its input.
    with contextlib.suppress(OSError):
        try:
            pipe.write(data)
        finally:
            pipe.close()


def _read(pipe: IO[bytes], chunks: queue.Queue[bytes | None]) -> None:
    """Queue the pipe's output until it closes; the reader closes its end of the pipe."""
    try:
        while data := pipe.read1(CHUNK):  # type: ignore[attr-defined]
            chunks.put(data)
    finally:
        chunks.put(None)
        with contextlib.suppress(OSError):
            pipe.close()


class _StderrPump:
    """Copies the child's stderr to ours as it arrives and keeps the last few lines."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._pipe = pipe
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._tail = ""

    def run(self) -> None:
        try:
            while data := self._pipe.read1(CHUNK):  # type: ignore[attr-defined]
                text = self._decoder.decode(data)
                self._tail = (self._tail + text)[-STDERR_TAIL:]
                try:
                    sys.stderr.write(text)
                    sys.stderr.flush()
                except (OSError, ValueError):
                    pass  # our stderr is gone; keep draining so the child never blocks
        finally:
            with contextlib.suppress(OSError):
                self._pipe.close()

    def tail(self) -> str:
        return self._tail
