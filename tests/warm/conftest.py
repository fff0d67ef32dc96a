"""Warm-path fixtures: a private runtime folder and a ``ccw serve --warm-only`` process per
test."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import configured, keys, server  # noqa: F401 - fixtures used here

WARM_START_S = 60.0


@pytest.fixture
def runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short private folder for the socket (a Unix socket path holds ~100 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="ccw-warm-"))
    monkeypatch.setenv("CCW_RUNTIME_DIR", str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


class Warm:
    """A warm server process and a way to ask it how many calls it served."""

    def __init__(self, env: dict[str, str], cwd: Path, args: tuple[str, ...] = ()) -> None:
        self.env = env
        self.cwd = cwd
        self.args = args
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> Warm:
        from ccw.warm import client

        self.process = subprocess.Popen(
            [sys.executable, "-m", "ccw", "serve", "--warm-only", *self.args],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + WARM_START_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"warm server exited: {self.process.stderr.read()}")  # type: ignore[union-attr]
            if client.request_status(0.5) is not None:
                return self
            time.sleep(0.05)
        raise AssertionError("warm server did not start")

    def calls(self) -> int:
        from ccw.warm import client

        found = client.request_status()
        assert found is not None, "the warm server is gone"
        return int(found["calls"])

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture
def warm_env(ccw_env: dict[str, str], runtime_dir: Path) -> dict[str, str]:
    """A ccw process's environment with the test's runtime dir and no keys of any kind:
    a warm server must take the caller's."""
    return {**ccw_env, "CCW_RUNTIME_DIR": str(runtime_dir)}


@pytest.fixture
def warm(warm_env: dict[str, str], project: Path) -> Iterator[Warm]:
    started = Warm(warm_env, project).start()
    yield started
    started.stop()
