"""``ccw chat`` driven through a pseudo-terminal, against the test provider server."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCcw
from tests.fakes.provider_server import DEFAULT_REPLY, ProviderServer

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """The master side of a pseudo-terminal: type lines, wait for text."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.seen = ""
        self.cursor = 0

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def expect(self, text: str, timeout: float = 60) -> str:
        """Wait until ``text`` appears after what earlier calls matched; returns what came
        before it."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.seen.find(text, self.cursor)
            if found >= 0:
                before = self.seen[self.cursor : found]
                self.cursor = found + len(text)
                return before
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {text!r} in:\n{self.seen[self.cursor :]}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # the other side closed
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"closed before {text!r}:\n{self.seen[self.cursor :]}")
                self.seen += ANSI.sub("", chunk.decode("utf-8", "replace")).replace("\r", "")


@pytest.fixture
def chat(
    project: Path, configured: Path, keys: dict[str, str], ccw_env: dict[str, str]
) -> Iterator[tuple[Terminal, subprocess.Popen[bytes]]]:
    master, slave = os.openpty()
    env = {**ccw_env, **keys, "TERM": "dumb"}
    with subprocess.Popen(
        [sys.executable, "-m", "ccw", "chat"],
        cwd=project,
        env=env,
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


def _posts(server: ProviderServer) -> list[Any]:
    return [r for r in server.requests if r.method == "POST"]


def _wait_for_post(server: ProviderServer, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(_posts(server)) < count:
        assert time.monotonic() < deadline, "the turn never reached the provider"
        time.sleep(0.05)


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    return [
        m["content"] if isinstance(m["content"], str) else m["content"][0]["text"] for m in messages
    ]


def test_a_chat_session_is_one_conversation(
    chat: tuple[Terminal, subprocess.Popen[bytes]],
    server: ProviderServer,
    project: Path,
    run_ccw: RunCcw,
) -> None:
    term, proc = chat
    (project / "notes.md").write_text("The launch is on Friday.\n", encoding="utf-8")
    term.expect("!help lists the commands")
    term.expect("> ")
    term.send("My name is Ada\n")
    term.expect(DEFAULT_REPLY)
    status = term.expect("> ")
    assert re.search(r"gpt · [0-9.]+ s · \d+ in / \d+ out · \$0\.\d{6}", status), status

    term.send("What do @notes.md say?\n")
    term.expect(DEFAULT_REPLY)
    assert "1 file packed" in term.expect("> ")
    second = _posts(server)[-1].body["messages"]
    assert _texts(second)[:2] == ["My name is Ada", DEFAULT_REPLY]
    assert "The launch is on Friday." in _texts(second)[2]

    term.send("!model claude\n")
    term.expect("the next turns go to claude")
    term.send("And now?\n")
    term.expect("switches from gpt to claude")
    term.expect(DEFAULT_REPLY)
    term.expect("> ")
    assert _posts(server)[-1].path == "/v1/messages"
    assert len(_posts(server)[-1].body["messages"]) == 5

    term.send("!reset\n")
    term.expect("new conversation")
    term.send("Fresh start\n")
    term.expect(DEFAULT_REPLY)
    term.expect("> ")
    assert _texts(_posts(server)[-1].body["messages"]) == ["Fresh start"]

    server.stall(30)
    term.send("Tell me a long story\n")
    _wait_for_post(server, 5)
    term.expect("Hello")  # the first piece streamed, then the server stalls
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the foreground group gets SIGINT
    term.expect("answer stopped")
    term.expect("> ")
    term.send("Still there?\n")
    term.expect(DEFAULT_REPLY)
    term.expect("> ")
    term.send("\x04")  # Ctrl-D
    term.expect("ccw cli history --conversation")
    assert proc.wait(timeout=30) == 0

    calls = json.loads(run_ccw("cli", "history", "--json").stdout)["calls"][::-1]
    assert [c["promptPreview"] for c in calls] == [
        "My name is Ada",
        "What do @notes.md say?",
        "And now?",
        "Fresh start",
        "Tell me a long story",
        "Still there?",
    ]
    first = calls[0]["conversationId"]
    assert [c["conversationId"] == first for c in calls] == [True] * 3 + [False] * 3
    fresh = calls[3]["conversationId"]
    assert {c["conversationId"] for c in calls[3:]} == {fresh}
    assert calls[4]["errorKind"] == "interrupted"
    assert calls[5]["parentId"] == calls[3]["id"]  # the stopped answer is not continued


def test_quit_and_unknown_commands(chat: tuple[Terminal, subprocess.Popen[bytes]]) -> None:
    term, proc = chat
    term.expect("> ")
    term.send("!nonsense\n")
    term.expect("unknown command !nonsense; !help lists them")
    term.send("!model claud\n")
    term.expect("endpoint not found: claud")
    term.expect("claude")  # the near id
    term.send("!help\n")
    term.expect("!model ID")
    term.expect("> ")
    term.send("!quit\n")
    assert proc.wait(timeout=30) == 0
