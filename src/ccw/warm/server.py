"""The warm server: runs calls sent over the Unix socket in a process that keeps LiteLLM
imported, and streams their events back.

Each connection carries one call, run in its own thread with the caller's working
directory (in its options) and the caller's ``${VAR}`` values (``caller_environment``,
for that thread's context only). A client that goes away mid-call stops it as Ctrl-C
would: the history records it as interrupted.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import socket
import socketserver
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ccw.errors import CcwError, UsageError
from ccw.exec import collector, events
from ccw.warm import paths, protocol

DEFAULT_IDLE_MINUTES = 30.0
_log = logging.getLogger("ccw.warm")


class _ClientGone(KeyboardInterrupt):
    """The caller closed the socket: the call stops as it would on the caller's Ctrl-C."""


def check_private_dir(folder: Path) -> None:
    """Refuse a runtime folder another user owns or may write to."""
    st = folder.stat()
    if st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UsageError(
            f"{folder} is not private to you (owner {st.st_uid}, mode {stat.filemode(st.st_mode)})",
            f"remove it or fix it: chmod 700 {folder}; or set CCW_RUNTIME_DIR to a folder of yours",
        )


def listen(path: Path) -> socket.socket:
    """Bind the socket, mode 0600 in a 0700 folder; a stale socket file is replaced, a live
    server's is a usage error."""
    if len(os.fsencode(path)) > paths.MAX_SOCKET_PATH:
        raise UsageError(
            f"the warm socket path is too long for a Unix socket: {path}",
            "set CCW_RUNTIME_DIR to a shorter folder",
        )
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    check_private_dir(folder)
    if path.exists() or path.is_symlink():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.settimeout(1)
            probe.connect(str(path))
        except OSError:
            path.unlink()  # nobody answers: a crashed server's socket
        else:
            raise UsageError(
                f"a warm ccw server already listens on {path}", "stop it first: ccw serve stop"
            )
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # the file is 0600 from the moment it exists
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(64)
    return sock


class WarmServer:
    """Serves calls on ``path`` until ``close()``; after ``idle_seconds`` without a call
    (None: never) it calls ``on_idle`` once."""

    def __init__(
        self,
        path: Path,
        idle_seconds: float | None = None,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self.path = path
        self.idle_seconds = idle_seconds
        self.on_idle = on_idle
        self.started = time.time()
        self.calls = 0
        self.active = 0
        self.last_active = time.monotonic()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.loaded = threading.Event()  # LiteLLM imported: calls are warm from now on
        self.identity = protocol.identity_for([])
        self._sock = listen(path)
        self._inode = os.stat(path).st_ino
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                outer._handle(self.rfile, self.connection)

        self._server = socketserver.ThreadingUnixStreamServer(
            str(path), Handler, bind_and_activate=False
        )
        self._server.socket.close()
        self._server.socket = self._sock
        self._server.daemon_threads = True
        self._threads: list[threading.Thread] = []

    def start(self, warm_up: bool = True) -> None:
        """Serve in background threads; import LiteLLM now (``warm_up``) so the first call
        is warm."""
        targets = [self._server.serve_forever, self._watch_idle]
        for target in [*targets, self._warm_up] if warm_up else targets:
            thread = threading.Thread(target=target, name="ccw-warm", daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self._inode:  # not a newer server's socket
                self.path.unlink()

    def _watch_idle(self) -> None:
        while not self._stopping.wait(
            1.0 if self.idle_seconds is None else min(1.0, self.idle_seconds / 4)
        ):
            if self.idle_seconds is None:
                continue
            with self._lock:
                idle = self.active == 0 and time.monotonic() - self.last_active >= self.idle_seconds
            if idle:
                _log.info("warm server idle for %.0f s: stopping", self.idle_seconds)
                if self.on_idle is not None:
                    self.on_idle()
                return

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "version": self.identity.version,
            "socket": str(self.path),
            "started": self.started,
            "calls": self.calls,
            "active": self.active,
            "idleSeconds": self.idle_seconds,
            "loaded": self.loaded.is_set(),
        }

    def _warm_up(self) -> None:
        """Import what a call needs, then move those objects out of the collector's sight:
        LiteLLM's many long-lived objects would make every later collection slow."""
        import ccw.exec.run  # noqa: F401
        from ccw.exec.litellm_call import load_litellm

        load_litellm()

        gc.collect()
        gc.freeze()
        collector.take_over()
        self.loaded.set()

    def _handle(self, rfile: Any, conn: socket.socket) -> None:
        def send(message: dict[str, Any]) -> None:
            try:
                conn.sendall(protocol.encode(message))
            except OSError:
                raise _ClientGone from None

        try:
            request = protocol.decode(rfile.readline())
        except ValueError:
            return
        kind = request.get("kind")
        with contextlib.suppress(_ClientGone):
            if kind == "status":
                send({"status": self.status()})
            elif kind == "stop":
                send({"stopping": True})
                threading.Thread(target=self._stop_from_client, daemon=True).start()
            elif kind in ("run", "embed"):
                self._run(request, send)

    def _stop_from_client(self) -> None:
        if self.on_idle is not None:
            self.on_idle()
        else:
            self.close()

    def _run(self, request: dict[str, Any], send: Callable[[dict[str, Any]], None]) -> None:
        caller = protocol.Identity.from_dict(request.get("identity") or {})
        reason = self.identity.mismatch(caller)
        if reason is not None:
            send({"refused": reason})
            return
        with self._lock:
            self.active += 1
            self.calls += 1
        try:
            send({"accepted": True})
            self._execute(request, send)
        finally:
            with self._lock:
                self.active -= 1
                self.last_active = time.monotonic()
            collector.after_call()

    def _execute(self, request: dict[str, Any], send: Callable[[dict[str, Any]], None]) -> None:
        from ccw.config.secrets import caller_environment

        def on_event(event: events.Event) -> None:
            send(protocol.event_to_dict(event))

        try:
            with caller_environment(request.get("env") or {}):
                result = _call(request, on_event)
        except _ClientGone:
            return
        except CcwError as exc:
            send(
                {
                    "error": {
                        "kind": exc.kind,
                        "message": exc.message,
                        "fix": exc.fix,
                        "exitCode": exc.exit_code,
                    }
                }
            )
            return
        except Exception as exc:  # a bug must not take the server down with it
            _log.exception("warm call failed")
            send(
                {
                    "error": {
                        "kind": "internal",
                        "message": f"the warm server failed: {exc}",
                        "fix": "run it again with CCW_WARM=off",
                        "exitCode": 1,
                    }
                }
            )
            return
        send({"result": result})


def _call(request: dict[str, Any], on_event: events.OnEvent) -> dict[str, Any]:
    """Run a ``ccw cli`` call (``run``) or a ``ccw embed`` (``embed``) as the caller's
    process would; the result as the wire carries it."""
    if request.get("kind") == "embed":
        from ccw.config.layers import LayeredConfig
        from ccw.exec.embed import embed

        call = request["embed"]
        layered = LayeredConfig.open(call.get("config"), Path(call["cwd"]))
        embedded = embed(
            layered.load(),
            layered.path,
            list(call["texts"]),
            model_id=call.get("model_id"),
            batch_size=int(call["batch_size"]),
            timeout=call.get("timeout"),
            on_event=on_event,
        )
        return embedded.to_dict()
    from ccw.exec.run import execute

    return execute(protocol.options_from_dict(request["options"]), on_event).to_dict()
