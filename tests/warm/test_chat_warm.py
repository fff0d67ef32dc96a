"""``ccw chat`` on the warm path: turns go to a running warm server by the rules ``ccw cli``
follows (one conversation either way, Ctrl-C stops an answer), and fall back to running
in-process, saying why once, when no server takes them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.cli.test_chat import Terminal, _posts, _texts, _wait_for_post
from tests.conftest import RunCcw
from tests.fakes.provider_server import DEFAULT_REPLY, ProviderServer
from tests.warm.conftest import Warm

pytestmark = pytest.mark.timeout(400)  # ccw processes, each importing LiteLLM on a busy machine


@contextmanager
def chatting(
    project: Path, env: dict[str, str]
) -> Iterator[tuple[Terminal, subprocess.Popen[bytes]]]:
    master, slave = os.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "ccw", "chat"],
        cwd=project,
        env={**env, "TERM": "dumb"},
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    ) as proc:
        os.close(slave)
        try:
            yield Terminal(master), proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
            os.close(master)


def test_chat_turns_go_to_the_warm_server_as_one_conversation(
    warm: Warm,
    warm_env: dict[str, str],
    project: Path,
    configured: Path,
    server: ProviderServer,
    keys: dict[str, str],
    run_ccw: RunCcw,
) -> None:
    env = {**warm_env, **keys}
    with chatting(project, env) as (term, proc):
        term.expect("> ")
        term.send("My name is Ada\n")
        term.expect(DEFAULT_REPLY)
        status = term.expect("> ")
        assert "gpt" in status and "in-process" not in status
        term.send("What is my name?\n")
        term.expect(DEFAULT_REPLY)
        term.expect("> ")
        assert _texts(_posts(server)[-1].body["messages"])[:2] == ["My name is Ada", DEFAULT_REPLY]
        assert warm.calls() == 2

        server.stall(5)
        term.send("Tell me a long story\n")
        _wait_for_post(server, 3)
        term.expect("Hello")  # the first piece came through the server, then it stalls
        os.killpg(proc.pid, signal.SIGINT)
        term.expect("answer stopped")
        term.expect("> ")
        term.send("\x04")
        term.expect("ccw cli history --conversation")
        assert proc.wait(timeout=60) == 0
    assert warm.calls() == 3
    # The server learns that its caller left at the stalled stream's next move (here: the
    # provider hanging up), then records the call with what had streamed.
    deadline = time.monotonic() + 60
    while True:
        calls = json.loads(run_ccw("cli", "history", "--json", env=env).stdout)["calls"][::-1]
        if len(calls) == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert [c["promptPreview"] for c in calls] == [
        "My name is Ada",
        "What is my name?",
        "Tell me a long story",
    ]
    assert len({c["conversationId"] for c in calls}) == 1
    assert calls[1]["parentId"] == calls[0]["id"]
    assert calls[2]["status"] != "ok"


def test_chat_falls_back_when_the_server_cannot_take_its_turns(
    warm_env: dict[str, str],
    runtime_dir: Path,
    project: Path,
    configured: Path,
    server: ProviderServer,
    keys: dict[str, str],
) -> None:
    from dataclasses import replace

    from ccw.warm.server import WarmServer

    listener = WarmServer(runtime_dir / "warm.sock")
    listener.identity = replace(listener.identity, version="0.0.1")
    listener.start(warm_up=False)
    try:
        with chatting(project, {**warm_env, **keys}) as (term, proc):
            term.expect("> ")
            term.send("first\n")
            assert "the warm server runs ccw 0.0.1" in term.expect(DEFAULT_REPLY)
            term.expect("> ")
            term.send("second\n")
            assert "warm server" not in term.expect(DEFAULT_REPLY)  # said once
            term.expect("> ")
            term.send("!quit\n")
            assert proc.wait(timeout=60) == 0
        assert listener.calls == 0
        assert _texts(_posts(server)[-1].body["messages"]) == ["first", DEFAULT_REPLY, "second"]
    finally:
        listener.close()


def test_chat_with_warm_off_never_asks_the_server(
    warm: Warm,
    warm_env: dict[str, str],
    project: Path,
    configured: Path,
    server: ProviderServer,
    keys: dict[str, str],
) -> None:
    with chatting(project, {**warm_env, **keys, "CCW_WARM": "off"}) as (term, proc):
        term.expect("> ")
        term.send("hello\n")
        term.expect(DEFAULT_REPLY)
        term.expect("> ")
        term.send("!quit\n")
        assert proc.wait(timeout=60) == 0
    assert warm.calls() == 0
    assert len(_posts(server)) == 1
