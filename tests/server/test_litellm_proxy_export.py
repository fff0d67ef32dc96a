"""`ccw config export --litellm-proxy`: the file loads in a real LiteLLM proxy on 127.0.0.1,
and calls through it reach the test provider with the right keys and headers; no secret is
ever in the file.

The proxy runs from its own venv (``make setup-dev`` builds ``.venv-proxy``); it takes a few
seconds to start, so one proxy serves the whole module.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from ccw.paths import CONFIG_RELATIVE
from tests.fakes.provider_server import ProviderServer

ROOT = Path(__file__).resolve().parents[2]
LITELLM = ROOT / ".venv-proxy" / "bin" / "litellm"
MASTER = "sk-master-" + "9" * 24
KEY_A = "sk-env-key-AAAA-1111"
KEY_B = "sk-literal-key-BBBB-2222"  # a literal in ccw's config
TEAM = "team-header-SECRET-3333"
LITERAL_VAR = "CCW_FAKE_B_API_KEY"


def _config(fake_url: str) -> dict[str, object]:
    return {
        "version": 1,
        "providers": [
            {
                "id": "fake",
                "name": "Fake",
                "type": "openai",
                "apiBase": f"{fake_url}/v1",
                "customHeaders": {"X-Team": "${TEAM_HDR}"},
                "routingStrategy": "weighted",
                "apiKeys": [
                    {"id": "a", "key": "${FAKE_A_KEY}", "label": "A", "weight": 3},
                    {"id": "b", "key": KEY_B, "label": "B", "weight": 1},
                    {"id": "off", "key": "${NEVER}", "enabled": False},
                ],
                "llmModels": [{"id": "m1", "name": "Model one"}],
            }
        ],
        "endpoints": [
            {"id": "main", "providerId": "fake", "model": "m1", "fallbacks": ["pool1"]},
        ],
        "modelPools": [{"id": "pool1", "targetModel": "m1", "modelType": "llm"}],
    }


def _env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(
        HOME=str(base / "home"),
        CCW_USER_CONFIG_DIR=str(base / "user-config"),
        CCW_DATA_DIR=str(base / "data"),
        NO_COLOR="1",
        COLUMNS="200",
    )
    env.pop("CCW_CONFIG", None)
    return env


def _export(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccw", "config", "export", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Proxy:
    url: str
    fake: ProviderServer
    text: str
    stderr: str


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    if not LITELLM.exists():
        pytest.fail(f"{LITELLM} is missing: run `make setup-dev` to build LiteLLM's proxy venv")
    base = tmp_path_factory.mktemp("proxy")
    project = base / "project"
    (project / CONFIG_RELATIVE).parent.mkdir(parents=True)
    env = _env(base)
    with ProviderServer() as fake:
        (project / CONFIG_RELATIVE).write_text(json.dumps(_config(fake.url)))
        target = base / "litellm.yaml"
        done = _export(project, env, "--litellm-proxy", "-o", str(target))
        assert done.returncode == 0, done.stderr
        port = _free_port()
        proxy_env = {
            **env,
            "LITELLM_MASTER_KEY": MASTER,
            "FAKE_A_KEY": KEY_A,
            LITERAL_VAR: KEY_B,
            "TEAM_HDR": TEAM,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_TELEMETRY": "False",
        }
        log = (base / "proxy.log").open("w")
        process = subprocess.Popen(
            [str(LITELLM), "--config", str(target), "--host", "127.0.0.1", "--port", str(port)],
            env=proxy_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=base,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                if process.poll() is not None:
                    pytest.fail("the proxy exited: " + (base / "proxy.log").read_text()[-3000:])
                try:
                    if httpx.get(f"{url}/health/liveliness", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(
                        "the proxy did not start: " + (base / "proxy.log").read_text()[-3000:]
                    )
                time.sleep(0.2)
            yield Proxy(url, fake, target.read_text(), done.stderr)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


def _chat(proxy: Proxy, model: str) -> httpx.Response:
    return httpx.post(
        f"{proxy.url}/v1/chat/completions",
        headers={"authorization": f"Bearer {MASTER}"},
        json={"model": model, "messages": [{"role": "user", "content": "hello"}]},
        timeout=30,
    )


def test_a_call_goes_through_the_proxy_with_the_keys_and_headers(proxy: Proxy) -> None:
    before = len(proxy.fake.requests)
    answer = _chat(proxy, "main")
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"]
    sent = [r for r in proxy.fake.requests[before:] if r.path.endswith("/chat/completions")]
    assert sent and sent[-1].body["model"] == "m1"
    assert sent[-1].headers["authorization"] in (f"Bearer {KEY_A}", f"Bearer {KEY_B}")
    assert sent[-1].headers["x-team"] == TEAM


def test_a_pool_is_a_model_group_of_the_proxy(proxy: Proxy) -> None:
    for _ in range(6):
        assert _chat(proxy, "pool1").status_code == 200
    used = proxy.fake.calls_by_key()
    assert set(used) <= {KEY_A, KEY_B} and used.get(KEY_A)


def test_the_file_holds_no_secret_and_names_what_to_export(proxy: Proxy) -> None:
    for secret in (KEY_A, KEY_B, TEAM):
        assert secret not in proxy.text
    data = yaml.safe_load(proxy.text)
    main = [d for d in data["model_list"] if d["model_name"] == "main"]
    assert sorted(d["litellm_params"]["api_key"] for d in main) == [
        "os.environ/CCW_FAKE_B_API_KEY",
        "os.environ/FAKE_A_KEY",
    ]
    assert {d["litellm_params"]["weight"] for d in main} == {1, 3}
    assert main[0]["litellm_params"]["extra_headers"] == {"X-Team": "os.environ/TEAM_HDR"}
    assert data["router_settings"]["routing_strategy"] == "simple-shuffle"
    assert data["router_settings"]["fallbacks"] == [{"main": ["pool1"]}]
    assert LITERAL_VAR in proxy.text.split("model_list")[0]
    assert f"export {LITERAL_VAR}=" in proxy.stderr and KEY_B not in proxy.stderr


def test_export_without_a_format_or_to_a_missing_folder_fails_cleanly(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / CONFIG_RELATIVE).parent.mkdir(parents=True)
    env = _env(tmp_path)
    no_format = _export(project, env)
    assert no_format.returncode == 2 and "--litellm-proxy" in no_format.stderr
    missing = _export(project, env, "--litellm-proxy", "-o", str(tmp_path / "nope" / "x.yaml"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr + no_format.stderr
    assert not (tmp_path / "nope").exists()
    out = _export(project, env, "--litellm-proxy")
    assert out.returncode == 0, out.stderr
    (builtin,) = yaml.safe_load(out.stdout)["model_list"]  # the embedded model's endpoint
    assert builtin["model_name"] == "local"
    assert builtin["litellm_params"]["api_base"].startswith("http://127.0.0.1:")
