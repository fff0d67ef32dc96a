"""``ccw keys``: stored outside every repository (0600), never echoed or printed, and a
``${NAME}`` reference resolves from the environment first, then from the store, in a real
call to the loopback provider, in ``provider test`` and in process."""

from __future__ import annotations

import json
import os
import pty
import select
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ccw.config.keystore import KeyStore
from ccw.config.secrets import MissingKeyError, resolve
from ccw.errors import ConfigError, UsageError
from tests.cli.conftest import endpoint, provider, write_config
from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer

STORED = "sk-stored-KEYSTORE-0123456789abcdef"
FROM_ENV = "sk-env-ENVIRONMENT-0123456789abcdef"


def _keys_file() -> Path:
    return Path(os.environ["CCW_DATA_DIR"]) / "keys.json"


def _store(run_ccw: RunCcw, name: str, value: str) -> None:
    done = run_ccw("keys", "set", name, input=value)
    assert done.returncode == 0, done.stderr
    assert value not in done.stdout + done.stderr


def test_set_list_remove_mask_and_protect_the_store(run_ccw: RunCcw, project: Path) -> None:
    _store(run_ccw, "MY_KEY", STORED + "\n")
    store = _keys_file()
    assert json.loads(store.read_text())["keys"] == {"MY_KEY": STORED}
    assert store.stat().st_mode & 0o777 == 0o600
    assert not any(project.rglob("keys.json"))

    listed = run_ccw("keys", "list", "--json")
    assert listed.returncode == 0 and STORED not in listed.stdout
    assert json.loads(listed.stdout)["keys"] == [
        {"name": "MY_KEY", "value": "sk-…cdef", "shadowedByEnv": False}
    ]
    again = run_ccw("keys", "set", "MY_KEY", input=STORED, env={"MY_KEY": FROM_ENV})
    assert "replaced MY_KEY" in again.stderr and "environment, which wins" in again.stderr
    table = run_ccw("keys", "list", env={"MY_KEY": FROM_ENV})
    assert "MY_KEY" in table.stdout and "env wins" in table.stdout and STORED not in table.stdout

    empty = run_ccw("keys", "set", "OTHER", input="")
    assert empty.returncode == 2 and "no key given" in empty.stderr
    bad = run_ccw("keys", "set", "1-bad", input=STORED)
    assert bad.returncode == 2 and "not a key name" in bad.stderr

    assert run_ccw("keys", "remove", "MY_KEY").returncode == 0
    assert json.loads(store.read_text())["keys"] == {}
    missing = run_ccw("keys", "remove", "MY_KEY")
    assert missing.returncode == 4 and "no stored key MY_KEY" in missing.stderr


def _configure(project: Path, server: ProviderServer) -> None:
    write_config(
        project,
        {
            "providers": [provider("oai", "openai", server.url + "/v1", apiKey="${MY_KEY}")],
            "endpoints": [endpoint("gpt", "oai", maxTokens=16)],
            "defaultEndpoint": "gpt",
        },
    )


def test_a_stored_key_reaches_the_provider_and_the_environment_wins(
    run_ccw: RunCcw, project: Path, server: ProviderServer
) -> None:
    _configure(project, server)
    unset = run_ccw("cli", "-p", "hi")
    assert unset.returncode == 10 and "ccw keys set MY_KEY" in unset.stderr
    _store(run_ccw, "MY_KEY", STORED)

    done = run_ccw("cli", "-p", "hi", "--json")
    assert done.returncode == 0, done.stderr
    assert server.requests[-1].headers["authorization"] == f"Bearer {STORED}"
    assert STORED not in done.stdout + done.stderr
    tested = run_ccw("provider", "test", "oai", "--json")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert server.requests[-1].headers["authorization"] == f"Bearer {STORED}"

    run_ccw("cli", "-p", "hi", env={"MY_KEY": FROM_ENV})
    assert server.requests[-1].headers["authorization"] == f"Bearer {FROM_ENV}"


def test_a_stored_key_echoed_by_the_provider_is_masked(
    run_ccw: RunCcw, project: Path, server: ProviderServer
) -> None:
    """A provider that echoes the request's headers in its error shows no stored key."""
    _configure(project, server)
    _store(run_ccw, "MY_KEY", STORED)
    server.fail(400, echo_headers=True)
    echoed = run_ccw("cli", "-p", "hi", "--json")
    assert echoed.returncode != 0
    assert STORED not in echoed.stdout + echoed.stderr
    assert "sk-…cdef" in echoed.stdout + echoed.stderr
    history = run_ccw("cli", "history", "--json")
    assert history.returncode == 0 and STORED not in history.stdout


def test_set_prompts_on_a_terminal_without_echo(ccw_env: dict[str, str], project: Path) -> None:
    pid, fd = pty.fork()
    if pid == 0:  # the child: ccw on a pseudo-terminal, as a user types at it
        os.chdir(project)
        os.execve(sys.executable, [sys.executable, "-m", "ccw", "keys", "set", "TTY_KEY"], ccw_env)
    seen = b""
    try:
        seen += _read_until(fd, b"not shown")
        os.write(fd, STORED.encode() + b"\n")
        seen += _read_until(fd, b"stored TTY_KEY")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert STORED.encode() not in seen
    assert b"sk-" in seen  # the masked form is shown
    stored = json.loads((Path(ccw_env["CCW_DATA_DIR"]) / "keys.json").read_text())
    assert stored["keys"] == {"TTY_KEY": STORED}


def _read_until(fd: int, needle: bytes, timeout: float = 30) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"{needle!r} not seen in {seen!r}")
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_resolution_reads_the_store_after_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = KeyStore()
    store.set("CCW_TEST_STORED", STORED)
    monkeypatch.delenv("CCW_TEST_STORED", raising=False)
    assert resolve("Bearer ${CCW_TEST_STORED}") == f"Bearer {STORED}"
    assert "CCW_TEST_STORED" not in os.environ
    monkeypatch.setenv("CCW_TEST_STORED", FROM_ENV)
    assert resolve("${CCW_TEST_STORED}") == FROM_ENV
    # An explicit environment is the only source.
    with pytest.raises(MissingKeyError):
        resolve("${CCW_TEST_STORED}", env={})
    with pytest.raises(UsageError):
        store.set("CCW_TEST_STORED", " padded ")
    assert store.remove("CCW_TEST_STORED") and not store.remove("CCW_TEST_STORED")


def test_a_damaged_store_is_an_error_that_quotes_no_key() -> None:
    path = _keys_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"keys": {"A": "' + STORED + '"', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        KeyStore().get("A")
    assert str(path) in caught.value.message and STORED not in str(caught.value)


def test_concurrent_writers_lose_no_key() -> None:
    names = [f"KEY_{n}" for n in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda name: KeyStore().set(name, f"{STORED}{name}"), names))
    assert sorted(KeyStore().load()) == sorted(names)
    assert not list(_keys_file().parent.glob(".keys.*.tmp"))
