"""The original dashboard page's own calls, replayed against a real ``ccw serve``.

``PageClient`` does what the page's ``fetchApi`` does: a pool of tokens from
``/api/csrf-token?count=5`` (which sets the session cookie), one token as ``X-CSRF-Token`` on
each mutation, the next one taken from the answer's header, ``Content-Type: application/json``
only when there is a body, the page's origin. Each call sends the page's request body and
checks the fields the page reads.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.fakes.ports import free_port
from tests.fakes.provider_server import ProviderServer
from tests.server.conftest import API

KEY_A = "sk-page-key-AAAA-0001"
KEY_B = "sk-page-key-BBBB-0002"
HEADER_VALUE = "hdr-SECRET-value-0003"


class PageClient:
    """The page's ``fetchApi``, token pool and cookies included."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30, trust_env=False)
        self.origin = url
        self.pool: list[str] = []
        self.used: list[str] = []

    def init_tokens(self) -> None:
        answer = self.http.get("/api/csrf-token", params={"count": 5})
        assert answer.status_code == 200, answer.text
        assert answer.json()["expiresIn"] == 900
        self.pool = list(answer.json()["tokens"])
        assert len(self.pool) == 5 and "ccw_session_id" in self.http.cookies

    def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        headers = {"origin": self.origin}
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            if not self.pool:
                single = self.http.get("/api/csrf-token").json()
                self.pool.append(single["csrfToken"])
            token = self.pool.pop(0)
            self.used.append(token)
            headers["x-csrf-token"] = token
        content = None
        if body is not None:
            headers["content-type"] = "application/json"
            content = httpx.Request("POST", "/", json=body).content
        answer = self.http.request(method, API + path, headers=headers, content=content)
        nxt = answer.headers.get("x-csrf-token")
        if nxt and nxt not in self.pool and len(self.pool) < 5:
            self.pool.append(nxt)
        return answer

    def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        answer = self.call(method, path, body)
        assert answer.is_success, (method, path, answer.status_code, answer.text)
        data: dict[str, Any] = answer.json()
        return data


@pytest.fixture
def page(project: Path, ccw_env: dict[str, str]) -> Iterator[PageClient]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ccw", "serve", "--port", str(port), "--no-warm"],
        cwd=project,
        env=ccw_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    client = PageClient(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.http.get(f"{API}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ccw serve did not start: {process.stderr}")
            time.sleep(0.05)
        yield client
    finally:
        client.http.close()
        process.terminate()
        process.communicate(timeout=10)


def _provider_form(base: str) -> dict[str, Any]:
    """What the page's provider form sends on create (no id: the server makes one)."""
    return {
        "name": "Team OpenAI",
        "type": "openai",
        "apiKey": KEY_A,
        "apiBase": f"{base}/v1",
        "enabled": True,
        "advancedSettings": {"timeout": 30, "customHeaders": {"X-Team": HEADER_VALUE}},
        "apiKeys": [
            {"id": "k1", "key": KEY_A, "label": "Primary", "weight": 2, "enabled": True},
            {"id": "k2", "key": KEY_B, "label": "Backup", "weight": 1, "enabled": True},
        ],
        "routingStrategy": "weighted",
        "healthCheck": {
            "enabled": False,
            "intervalSeconds": 300,
            "cooldownSeconds": 5,
            "failureThreshold": 3,
        },
        "llmModels": [{"id": "m1", "name": "Model one", "series": "m", "enabled": True}],
        "embeddingModels": [{"id": "e1", "name": "Embed one", "enabled": True}],
    }


def _no_secret(answer_text: str) -> None:
    for secret in (KEY_A, KEY_B, HEADER_VALUE):
        assert secret not in answer_text


def test_every_call_of_the_original_page_succeeds(page: PageClient, tmp_path: Path) -> None:
    page.init_tokens()
    with ProviderServer() as fake:
        listed = page.ok("GET", "/providers")
        assert isinstance(listed["providers"], list) and listed["count"] == len(listed["providers"])

        created = page.ok("POST", "/providers", _provider_form(fake.url))
        assert created["success"] is True
        provider = created["provider"]
        pid = provider["id"]
        assert [k["label"] for k in provider["apiKeys"]] == ["Primary", "Backup"]
        assert provider["routingStrategy"] == "weighted"
        _no_secret(str(created))

        # The edit form sends the provider back as the page got it (keys masked).
        shown = page.ok("GET", f"/providers/{pid}")
        edited_keys = [{**k, "weight": 5} if k["id"] == "k2" else k for k in shown["apiKeys"]]
        edited = page.ok(
            "PUT",
            f"/providers/{pid}",
            {"name": "Team OpenAI 2", "apiKeys": edited_keys, "routingStrategy": "least-busy"},
        )
        assert edited["provider"]["name"] == "Team OpenAI 2"
        assert [k["weight"] for k in edited["provider"]["apiKeys"]] == [2, 5]

        tested = page.ok("POST", f"/providers/{pid}/test")
        assert tested["success"] is True and tested["provider"] == "openai"
        assert isinstance(tested["latencyMs"], int)
        for key_id, label in (("k1", "Primary"), ("k2", "Backup")):
            one = page.ok("POST", f"/providers/{pid}/test-key", {"keyId": key_id})
            assert one["valid"] is True and one["keyLabel"] == label, one
        used = {r.headers.get("authorization") for r in fake.requests}
        assert {f"Bearer {KEY_A}", f"Bearer {KEY_B}"} <= used

        health = page.ok("GET", f"/providers/{pid}/health-status")
        assert health["providerId"] == pid and health["providerName"] == "Team OpenAI 2"
        assert [(k["keyId"], k["label"], k["status"]) for k in health["keys"]] == [
            ("k1", "Primary", "healthy"),
            ("k2", "Backup", "healthy"),
        ]
        fake.refuse_key(KEY_B)
        checked = page.ok("POST", f"/providers/{pid}/health-check-now")
        assert checked["success"] is True and checked["checkedAt"]
        status = {k["keyId"]: k for k in checked["keys"]}
        assert status["k1"]["status"] == "healthy" and status["k2"]["status"] != "healthy"
        assert status["k2"]["lastError"] and status["k2"]["consecutiveFailures"] >= 1
        fake.accept_key(KEY_B)

        # Endpoints
        assert "endpoints" in page.ok("GET", "/endpoints")
        endpoint = {
            "id": "page-ep",
            "name": "Page endpoint",
            "providerId": pid,
            "model": "m1",
            "description": "from the page",
            "cacheStrategy": {
                "enabled": True,
                "ttlMinutes": 30,
                "maxSizeKB": 256,
                "filePatterns": [],
            },
            "enabled": True,
        }
        assert page.ok("POST", "/endpoints", endpoint)["endpoint"]["id"] == "page-ep"
        page.ok("PUT", "/endpoints/page-ep", {"description": "edited", "enabled": True})
        assert page.ok("GET", "/endpoints/page-ep")["description"] == "edited"
        assert page.ok("PUT", "/config/default-endpoint", {"endpointId": "page-ep"})["success"]

        for listed_type in (
            "anthropic",
            "google",
            "ollama",
            "azure",
            "mistral",
            "deepseek",
            "custom",
        ):
            answer = page.ok("GET", f"/models/{listed_type}")
            assert answer["providerType"] == listed_type and answer["count"] == len(
                answer["models"]
            )
        assert pid in {p["id"] for p in page.ok("GET", "/config")["providers"]}
        models = page.ok("GET", "/models/openai")
        assert models["count"] == len(models["models"]) > 0
        assert set(models["models"][0]) == {"id", "name", "provider", "description"}

        # Pools
        assert page.ok("GET", "/model-pools")["pools"] == []
        available = page.ok("GET", "/model-pools/available-models/embedding")
        assert available["availableModels"] == [
            {"modelId": "e1", "modelName": "Embed one", "providers": ["Team OpenAI 2"]}
        ]
        found = page.ok("GET", "/model-pools/discover/llm/m1")
        assert found["count"] == 1 and found["discovered"][0]["providerId"] == pid
        assert [k["keyId"] for k in found["discovered"][0]["apiKeys"]] == ["k1", "k2"]
        new_pool = page.ok(
            "POST",
            "/model-pools",
            {
                "modelType": "llm",
                "enabled": True,
                "targetModel": "m1",
                "strategy": "round_robin",
                "autoDiscover": True,
                "excludedProviderIds": [],
                "defaultCooldown": 60,
                "defaultMaxConcurrentPerKey": 4,
                "name": "M1 pool",
            },
        )
        pool_id = new_pool["poolId"]
        assert new_pool["success"] and pool_id.startswith("pool-llm-")
        assert page.ok("GET", f"/model-pools/{pool_id}")["pool"]["name"] == "M1 pool"
        page.ok("PUT", f"/model-pools/{pool_id}", {"strategy": "latency_aware"})
        assert page.ok("GET", "/model-pools")["pools"][0]["strategy"] == "latency_aware"
        assert page.ok("GET", "/embedding-pool")["availableModels"][0]["modelId"] == "e1"
        assert page.ok("GET", "/reranker-pool") == {"availableModels": []}

        # Cache and its settings, as the page's form starts them
        stats = page.ok("GET", "/cache/stats")
        assert {"totalSize", "maxSize", "entries"} <= set(stats)
        assert stats["maxSize"] == stats["maxBytes"] > 0
        assert page.ok("POST", "/cache/clear")["success"] is True
        settings = page.ok(
            "PUT", "/config/cache", {"enabled": True, "cacheDir": "", "maxTotalSizeMB": 50}
        )
        assert settings["success"] and settings["settings"]["maxTotalSizeMB"] == 50
        assert settings["settings"]["cacheDir"] == "~/.ccw/cache/context"

        # The LiteLLM proxy YAML
        preview = page.ok("GET", "/config/yaml-preview")
        _no_secret(preview["config"])
        deployments = yaml.safe_load(preview["config"])["model_list"]
        assert {"page-ep", pool_id} <= {d["model_name"] for d in deployments}
        ours = [d["litellm_params"] for d in deployments if d["model_name"] == "page-ep"]
        assert [p["weight"] for p in ours] == [2, 5]
        header_var = ours[0]["extra_headers"]["X-Team"]
        assert header_var.startswith("os.environ/CCW_") and header_var[11:] in preview["config"]
        assert header_var[11:] in {e["variable"] for e in preview["exports"]}
        synced = page.ok("POST", "/config/sync")
        written = Path(synced["yamlPath"])
        assert synced["success"] and written.read_text() == preview["config"]

        # Another tool's routes: a clear 404
        rotation = page.call("GET", "/codexlens/rotation")
        assert rotation.status_code == 404 and "CodexLens" in rotation.json()["error"]

        assert page.ok("DELETE", f"/model-pools/{pool_id}")["success"]
        page.ok("DELETE", "/endpoints/page-ep")
        deleted = page.ok("DELETE", f"/providers/{pid}")
        assert deleted["success"] and deleted["message"]
        assert page.call("GET", f"/providers/{pid}").status_code == 404


def test_a_session_mutation_needs_a_fresh_token(page: PageClient) -> None:
    page.init_tokens()
    token = page.pool[0]
    body = {"name": "x", "type": "custom", "apiBase": "http://127.0.0.1:9/v1"}
    origin = {"origin": page.origin}
    no_token = page.http.post(f"{API}/providers", json=body, headers=origin)
    assert no_token.status_code == 403 and "X-CSRF-Token" in no_token.json()["error"]
    first = page.http.post(f"{API}/providers", json=body, headers={**origin, "x-csrf-token": token})
    assert first.status_code == 201 and first.headers["x-csrf-token"] != token
    again = page.http.post(f"{API}/providers", json=body, headers={**origin, "x-csrf-token": token})
    assert again.status_code == 403
    nxt = first.headers["x-csrf-token"]
    ok = page.http.post(f"{API}/providers", json=body, headers={**origin, "x-csrf-token": nxt})
    assert ok.status_code == 201
    # Without the session cookie (curl, the spec's examples) the Origin/Host/JSON rules judge.
    with httpx.Client(base_url=page.origin, trust_env=False) as curl:
        assert curl.post(f"{API}/providers", json=body).status_code == 201
        foreign = curl.post(f"{API}/providers", json=body, headers={"origin": "http://evil.test"})
        assert foreign.status_code == 403
