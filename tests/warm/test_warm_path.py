"""The warm path end to end: the real ``ccw`` against a real warm server process (or a
real socket listener in the test process), a loopback provider behind both."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.conftest import SECRET
from tests.conftest import RunCcw
from tests.fakes.provider_server import DEFAULT_REPLY, ProviderServer
from tests.warm.conftest import Warm


@pytest.mark.timeout(400)  # several ccw processes, each importing LiteLLM
def test_socket_is_private_and_the_call_goes_through_it(
    run_ccw: RunCcw,
    warm: Warm,
    warm_env: dict[str, str],
    runtime_dir: Path,
    configured: Path,
    server: ProviderServer,
    keys: dict[str, str],
) -> None:
    sock = runtime_dir / "warm.sock"
    assert stat.S_ISSOCK(sock.stat().st_mode)
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert stat.S_IMODE(runtime_dir.stat().st_mode) == 0o700
    done = run_ccw("cli", "-p", "Say hello", "--json", env={**warm_env, **keys})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["via"] == "server"
    assert result["output"] == DEFAULT_REPLY
    # the key came from the caller's environment: the server process has none
    assert server.requests[-1].headers["authorization"] == f"Bearer {SECRET}"
    assert warm.calls() == 1
    off = run_ccw("cli", "-p", "Say hello", "--json", env={**warm_env, **keys, "CCW_WARM": "off"})
    assert json.loads(off.stdout)["via"] == "in-process"
    assert warm.calls() == 1


@pytest.mark.timeout(400)  # several ccw processes, each importing LiteLLM
def test_history_is_the_same_either_way(
    run_ccw: RunCcw,
    warm: Warm,
    warm_env: dict[str, str],
    configured: Path,
    keys: dict[str, str],
) -> None:
    env = {**warm_env, **keys}
    served = run_ccw("cli", "-p", "first", "--id", "warm-call", env=env)
    local = run_ccw("cli", "-p", "first", "--id", "local-call", env={**env, "CCW_WARM": "off"})
    assert served.returncode == local.returncode == 0
    assert served.stdout == local.stdout
    listed = run_ccw("cli", "history", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {row["id"]: row for row in json.loads(listed.stdout)["calls"]}
    # usage and cost are what the test provider reports, which counts what it has seen
    ignored = {"id", "createdAt", "durationMs", "conversationId", "usage", "cost"}

    def same(row: dict[str, object]) -> dict[str, object]:
        return {k: v for k, v in row.items() if k not in ignored}

    assert same(rows["warm-call"]) == same(rows["local-call"])
    details = [
        json.loads(run_ccw("cli", "detail", call, "--json", env=env).stdout)
        for call in ("warm-call", "local-call")
    ]
    assert same(details[0]) == same(details[1])
    assert details[0]["messages"] == [{"role": "user", "content": "first"}]
    assert SECRET not in listed.stdout


@pytest.mark.timeout(400)  # several ccw processes, each importing LiteLLM
def test_socket_that_is_not_the_users_is_ignored(
    run_ccw: RunCcw,
    warm_env: dict[str, str],
    runtime_dir: Path,
    configured: Path,
    keys: dict[str, str],
) -> None:
    fake = runtime_dir / "warm.sock"
    fake.write_text("not a socket")
    done = run_ccw("cli", "-p", "hi", "--json", env={**warm_env, **keys})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["via"] == "in-process"
    assert "is not a socket of yours" in done.stderr
    again = run_ccw("cli", "-p", "hi", env={**warm_env, **keys})
    assert "is not a socket of yours" not in again.stderr  # said once
    assert fake.read_text() == "not a socket"  # left as it was


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_socket_owned_by_another_user_is_refused(
    run_ccw: RunCcw,
    warm_env: dict[str, str],
    runtime_dir: Path,
    configured: Path,
    keys: dict[str, str],
) -> None:
    from ccw.warm.server import WarmServer

    listener = WarmServer(runtime_dir / "warm.sock")
    listener.start(warm_up=False)
    try:
        os.chown(runtime_dir / "warm.sock", 65534, 65534)
        done = run_ccw("cli", "-p", "hi", "--json", env={**warm_env, **keys})
        assert json.loads(done.stdout)["via"] == "in-process"
        assert "not a socket of yours" in done.stderr
        assert listener.calls == 0
    finally:
        listener.close()


def test_stale_socket_falls_back_and_is_removed(
    run_ccw: RunCcw,
    warm_env: dict[str, str],
    runtime_dir: Path,
    configured: Path,
    keys: dict[str, str],
) -> None:
    path = runtime_dir / "warm.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()  # the file stays, nobody listens: a crashed server's socket
    done = run_ccw("cli", "-p", "hi", "--json", env={**warm_env, **keys})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["via"] == "in-process"
    assert "stale socket" in done.stderr
    assert not path.exists()


def test_server_of_another_version_is_not_used(
    run_ccw: RunCcw,
    warm_env: dict[str, str],
    runtime_dir: Path,
    configured: Path,
    keys: dict[str, str],
) -> None:
    from dataclasses import replace

    from ccw.warm.server import WarmServer

    listener = WarmServer(runtime_dir / "warm.sock")
    listener.identity = replace(listener.identity, version="0.0.1")
    listener.start(warm_up=False)
    try:
        done = run_ccw("cli", "-p", "hi", "--json", env={**warm_env, **keys})
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["via"] == "in-process"
        assert "the warm server runs ccw 0.0.1" in done.stderr
        assert listener.calls == 0
    finally:
        listener.close()


@pytest.mark.timeout(400)  # several ccw processes, each importing LiteLLM
def test_edited_config_is_honoured(
    run_ccw: RunCcw,
    warm: Warm,
    warm_env: dict[str, str],
    configured: Path,
    keys: dict[str, str],
) -> None:
    env = {**warm_env, **keys}
    assert json.loads(run_ccw("cli", "-p", "hi", "--json", env=env).stdout)["endpointId"] == "gpt"
    data = json.loads(configured.read_text())
    data["defaultEndpoint"] = "claude"
    configured.write_text(json.dumps(data))
    done = run_ccw("cli", "-p", "hi", "--json", env=env)
    result = json.loads(done.stdout)
    assert (result["via"], result["endpointId"]) == ("server", "claude")


@pytest.mark.timeout(400)  # several ccw processes, each importing LiteLLM
def test_server_killed_mid_stream_cuts_the_call_and_the_next_falls_back(
    warm: Warm,
    warm_env: dict[str, str],
    project: Path,
    configured: Path,
    server: ProviderServer,
    keys: dict[str, str],
) -> None:
    server.stall(60)  # the provider holds the call open: the server is in the middle of it
    call = subprocess.Popen(
        [sys.executable, "-m", "ccw", "cli", "-p", "hi"],
        cwd=project,
        env={**warm_env, **keys},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 240
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.requests, "the call never reached the provider"
    assert warm.calls() == 1
    warm.kill()
    _, err = call.communicate(timeout=120)
    assert call.returncode == 16, err
    assert "the warm server stopped in the middle of the call" in err
    assert "Traceback" not in err
    after = subprocess.run(
        [sys.executable, "-m", "ccw", "cli", "-p", "hi", "--json"],
        cwd=project,
        env={**warm_env, **keys},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["via"] == "in-process"


def test_idle_server_stops_by_itself(warm_env: dict[str, str], project: Path) -> None:
    from ccw.warm import client

    idle = Warm(warm_env, project, ("--idle-stop", "0.02")).start()  # 1.2 s
    try:
        assert idle.process is not None
        idle.process.wait(60)
        assert idle.process.returncode == 0
        assert client.request_status(0.5) is None
        assert not (Path(warm_env["CCW_RUNTIME_DIR"]) / "warm.sock").exists()
    finally:
        idle.stop()


def test_background_status_and_stop(
    run_ccw: RunCcw, warm_env: dict[str, str], runtime_dir: Path
) -> None:
    started = run_ccw("serve", "--background", "--warm-only", "--idle-stop", "5", env=warm_env)
    try:
        assert started.returncode == 0, started.stderr
        assert "background" in started.stderr
        again = run_ccw("serve", "--background", "--warm-only", env=warm_env)
        assert again.returncode == 2 and "already runs" in again.stderr
        shown = run_ccw("serve", "status", "--json", env=warm_env)
        assert shown.returncode == 0, shown.stderr
        status = json.loads(shown.stdout)
        assert status["socket"] == str(runtime_dir / "warm.sock")
        assert status["idleSeconds"] == 300
    finally:
        stopped = run_ccw("serve", "stop", env=warm_env)
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped" in stopped.stderr
    gone = run_ccw("serve", "status", env=warm_env)
    assert gone.returncode == 4
    assert "ccw serve --background" in gone.stderr


@pytest.mark.timeout(400)  # several ccw processes, each importing LiteLLM
def test_auto_start_runs_the_first_call_here_and_starts_a_server(
    run_ccw: RunCcw,
    warm_env: dict[str, str],
    configured: Path,
    keys: dict[str, str],
) -> None:
    from ccw.warm import client

    env = {**warm_env, **keys, "CCW_WARM": "auto"}
    first = run_ccw("cli", "-p", "hi", "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["via"] == "in-process"
    try:
        deadline = time.monotonic() + 60
        status = None
        while status is None and time.monotonic() < deadline:
            status = client.request_status(0.5)
            time.sleep(0.1)
        assert status is not None, "no server was started"
        assert status["idleSeconds"] == 30 * 60
        second = run_ccw("cli", "-p", "hi", "--json", env=env)
        assert json.loads(second.stdout)["via"] == "server"
    finally:
        run_ccw("serve", "stop", env=warm_env)


@pytest.mark.timeout(400)  # several ccw processes, each importing LiteLLM
def test_embed_goes_through_the_server_with_the_same_vectors(
    run_ccw: RunCcw,
    warm: Warm,
    warm_env: dict[str, str],
    configured: Path,
    server: ProviderServer,
    keys: dict[str, str],
) -> None:
    env = {**warm_env, **keys}
    served = run_ccw("embed", "alpha", "beta", "--model", "gpt", "--json", env=env)
    assert served.returncode == 0, served.stderr
    local = run_ccw(
        "embed", "alpha", "beta", "--model", "gpt", "--json", env={**env, "CCW_WARM": "off"}
    )
    assert local.returncode == 0, local.stderr
    warm_result, local_result = json.loads(served.stdout), json.loads(local.stdout)
    assert (warm_result.pop("via"), local_result.pop("via")) == ("server", "in-process")
    assert warm_result == local_result and warm_result["count"] == 2
    assert warm.calls() == 1
    assert server.requests[-1].headers["authorization"] == f"Bearer {SECRET}"
    empty = run_ccw("embed", "--model", "gpt", env=env)
    assert empty.returncode == 2 and "nothing to embed" in empty.stderr
