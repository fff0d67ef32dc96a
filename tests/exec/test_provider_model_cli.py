"""The original's provider model through the real CLI (``python -m ccw``) against loopback
test providers: several keys, key health, per-key tests, embeddings, fallbacks, --timeout."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import endpoint, provider, write_config
from tests.config.conftest import ok, ok_json
from tests.conftest import RunCcw
from tests.fakes.provider_server import DEFAULT_REPLY, ProviderServer

GOOD = "sk-good-key-0000000000001111"
BAD = "sk-bad-key-00000000000002222"
KEYS = {"CCW_KEY_GOOD": GOOD, "CCW_KEY_BAD": BAD}


@pytest.fixture
def srv() -> Iterator[ProviderServer]:
    with ProviderServer() as server:
        yield server


def multi(base: str, **extra: Any) -> dict[str, Any]:
    return provider(
        "multi",
        "openai",
        base,
        apiKey="",
        routingStrategy="simple-shuffle",
        apiKeys=[
            {"id": "good", "key": "${CCW_KEY_GOOD}", "label": "main", "enabled": True},
            {"id": "bad", "key": "${CCW_KEY_BAD}", "enabled": True},
        ],
        healthCheck={
            "enabled": False,
            "intervalSeconds": 60,
            "cooldownSeconds": 300,
            "failureThreshold": 2,
        },
        **extra,
    )


def _no_secret(*texts: str) -> None:
    for text in texts:
        assert GOOD not in text and BAD not in text


def test_two_keys_one_refused_answers_and_shows_the_bad_key_unhealthy(
    run_ccw: RunCcw, project: Path, srv: ProviderServer
) -> None:
    shuffled = multi(srv.url + "/v1")
    shuffled["routingStrategy"] = "weighted"  # weights count only for the weighted strategy
    shuffled["apiKeys"][1]["weight"] = 1000  # the bad key is drawn first: it must be tried
    shuffled["apiKeys"][0]["weight"] = 1
    write_config(project, {"providers": [shuffled], "endpoints": [endpoint("e", "multi")]})
    srv.refuse_key(BAD)
    answers = [
        run_ccw("cli", "-p", "hello", "--model", "e", "--json", env=KEYS, input="")
        for _ in range(3)
    ]
    for done in answers:
        result = ok_json(done)
        assert result["output"] == DEFAULT_REPLY
        assert result["deployment"] == "multi/good"
        _no_secret(done.stdout, done.stderr)
    assert srv.calls_by_key().get(BAD, 0) == 1  # tried once, then set aside
    health = ok_json(run_ccw("provider", "health", "multi", "--json", env=KEYS))
    keys = {k["keyId"]: k for k in health["providers"][0]["keys"]}
    assert keys["bad"]["healthStatus"] == "unhealthy"
    assert keys["bad"]["cooldownUntil"] is not None
    assert keys["good"]["healthStatus"] == "healthy"
    shown = run_ccw("provider", "health", env=KEYS)
    assert "unhealthy" in ok(shown).stdout
    _no_secret(shown.stdout, json.dumps(health))
    # history names the deployment (provider and key id), never a key
    listed = run_ccw("cli", "history", "--json", env=KEYS)
    _no_secret(listed.stdout, listed.stderr)
    calls = json.loads(listed.stdout)
    calls = calls["calls"] if isinstance(calls, dict) else calls
    assert [c["deployment"] for c in calls] == ["multi/good"] * 3
    detail = ok(run_ccw("cli", "detail", calls[0]["id"], env=KEYS))
    assert "multi/good" in detail.stdout
    _no_secret(detail.stdout, detail.stderr)


def test_provider_test_per_key_and_health_check_now(
    run_ccw: RunCcw, project: Path, srv: ProviderServer
) -> None:
    write_config(project, {"providers": [multi(srv.url + "/v1")], "endpoints": []})
    srv.refuse_key(BAD)
    good = ok_json(run_ccw("provider", "test", "multi", "--key", "good", "--json", env=KEYS))
    assert good["success"] and [k["keyId"] for k in good["keys"]] == ["good"]
    bad = run_ccw("provider", "test", "multi", "--key", "bad", env=KEYS)
    assert bad.returncode == 10 and "authentication" in bad.stdout
    both = run_ccw("provider", "test", "multi", env=KEYS)
    assert both.returncode == 10
    assert "multi key good: reachable" in both.stdout and "multi key bad" in both.stdout
    unknown = run_ccw("provider", "test", "multi", "--key", "nope", env=KEYS)
    assert (
        unknown.returncode == 4 and "good" in unknown.stderr and "Traceback" not in unknown.stderr
    )
    checked = ok_json(run_ccw("provider", "health", "multi", "--check", "--json", env=KEYS))
    keys = {k["keyId"]: k for k in checked["providers"][0]["keys"]}
    assert keys["good"]["healthStatus"] == "healthy" and keys["good"]["lastHealthCheck"]
    assert keys["bad"]["healthStatus"] == "unhealthy"
    assert "authentication" in keys["bad"]["lastError"]
    _no_secret(json.dumps(checked), bad.stdout, both.stdout)
    config_text = (project / ".ccw/storage/config/litellm-api-config.json").read_text()
    assert "healthStatus" not in config_text  # the user's file is never rewritten


def test_embed_through_a_two_key_pool_in_batches(
    run_ccw: RunCcw, project: Path, srv: ProviderServer
) -> None:
    base = multi(
        srv.url + "/v1",
        embeddingModels=[
            {"id": "embed-small", "enabled": True, "capabilities": {"embeddingDimension": 8}}
        ],
    )
    write_config(
        project,
        {
            "providers": [base],
            "endpoints": [],
            "modelPools": [
                {
                    "id": "vectors",
                    "modelType": "embedding",
                    "enabled": True,
                    "targetModel": "embed-small",
                    "strategy": "round_robin",
                    "autoDiscover": True,
                    "defaultCooldown": 60,
                    "defaultMaxConcurrentPerKey": 4,
                },
            ],
        },
    )
    texts = project / "texts.txt"
    texts.write_text("alpha\nbeta\n\ngamma\ndelta\nepsilon\n")
    done = run_ccw(
        "embed", "-i", str(texts), "--model", "vectors", "--batch-size", "2", "--json", env=KEYS
    )
    result = ok_json(done)
    assert result["count"] == 5 and result["dimensions"] == 8 and result["batches"] == 3
    assert set(result["deployments"]) <= {"multi/good", "multi/bad"}
    assert srv.embedding_batches == [2, 2, 1]
    assert sum(srv.calls_by_key().values()) == 3
    assert set(srv.calls_by_key()) <= {GOOD, BAD}
    same = ok(run_ccw("embed", "alpha", "--model", "vectors", env=KEYS)).stdout.splitlines()
    assert json.loads(same[0]) == result["embeddings"][0]
    _no_secret(done.stdout, done.stderr)
    none = run_ccw("embed", "--model", "vectors", env=KEYS)
    assert none.returncode == 2 and "nothing to embed" in none.stderr


def test_a_refused_key_in_an_embedding_pool_hands_over_to_the_other(
    run_ccw: RunCcw, project: Path, srv: ProviderServer
) -> None:
    base = multi(srv.url + "/v1", embeddingModels=[{"id": "embed-small"}])
    write_config(
        project,
        {
            "providers": [base],
            "endpoints": [],
            "embeddingPoolConfig": {
                "enabled": True,
                "targetModel": "embed-small",
                "strategy": "round_robin",
                "autoDiscover": True,
                "defaultCooldown": 60,
                "defaultMaxConcurrentPerKey": 4,
            },
        },
    )
    srv.refuse_key(BAD)
    result = ok_json(run_ccw("embed", "one", "two", "--json", env=KEYS))
    assert result["count"] == 2 and result["deployments"] == ["multi/good"]


def test_fallback_is_said_on_stderr_and_in_the_result(run_ccw: RunCcw, project: Path) -> None:
    with ProviderServer() as first, ProviderServer(reply="second answers") as second:
        write_config(
            project,
            {
                "providers": [
                    provider("p1", "openai", first.url + "/v1", apiKey="${CCW_KEY_GOOD}"),
                    provider("p2", "openai", second.url + "/v1", apiKey="${CCW_KEY_GOOD}"),
                ],
                "endpoints": [endpoint("one", "p1", fallbacks=["two"]), endpoint("two", "p2")],
            },
        )
        first.fail(503)
        done = run_ccw("cli", "-p", "hello", "--model", "one", "--json", env=KEYS, input="")
        result = ok_json(done)
        assert result["output"] == "second answers"
        assert (result["endpointId"], result["fallbackFrom"]) == ("two", ["one"])
        assert "falling back" in done.stderr
        detail = ok(run_ccw("cli", "detail", result["id"], "--json"))
        assert json.loads(detail.stdout)["fallbackFrom"] == ["one"]


def test_timeout_is_a_deadline_for_the_whole_call(
    run_ccw: RunCcw, project: Path, srv: ProviderServer
) -> None:
    write_config(
        project,
        {
            "providers": [
                provider("p", "openai", srv.url + "/v1", apiKey="${CCW_KEY_GOOD}", maxRetries=5)
            ],
            "endpoints": [endpoint("e", "p")],
        },
    )
    srv.slow(30, times=6)
    started = time.monotonic()
    done = run_ccw("cli", "-p", "hello", "--model", "e", "--timeout", "2", env=KEYS, input="")
    elapsed = time.monotonic() - started
    assert done.returncode == 14, done.stderr
    assert "--timeout 2" in done.stderr and "Traceback" not in done.stderr
    assert elapsed < 25  # one 30 s reply, let alone six, was never waited for
