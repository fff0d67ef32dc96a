"""Gemini explicit caching through the real CLI: ``ccw cli`` against the test Gemini API,
``ccw cache clear`` and the dashboard's clear, what was sent and what the ledger recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ccw.exec.pricing import prices
from tests.cli.conftest import endpoint, provider, write_config
from tests.conftest import RunCcw
from tests.fakes.gemini_server import GeminiServer

KEY = "AIza-e2e-GEMINI-key-9876543210"
MODEL = "gemini-2.5-flash"


@pytest.fixture(scope="module")
def gemini() -> Iterator[GeminiServer]:
    with GeminiServer(key=KEY) as srv:
        yield srv


@pytest.fixture
def fresh(gemini: GeminiServer) -> GeminiServer:
    """The module's server with nothing recorded and nothing cached."""
    with gemini._lock:
        gemini.requests.clear()
        gemini.cached.clear()
        gemini.list_calls = 0
    return gemini


def setup(project: Path, gemini: GeminiServer, **strategy: Any) -> None:
    (project / "big.py").write_text("def f():\n    return 'a fairly long line'\n" * 150)
    (project / "small.py").write_text("x = 1\n")
    write_config(
        project,
        {
            "version": 1,
            "providers": [provider("gg", "gemini", gemini.base, apiKey="${TEST_GEMINI_KEY}")],
            "endpoints": [
                endpoint(
                    "gem",
                    "gg",
                    MODEL,
                    maxTokens=32,
                    cacheStrategy={"enabled": True, "ttlMinutes": 20, **strategy},
                )
            ],
            "defaultEndpoint": "gem",
            "globalCacheSettings": {"cacheDir": ".ccw/cache"},
        },
    )


def ask(run_ccw: RunCcw, prompt: str = "@big.py Explain it", *extra: str) -> dict[str, Any]:
    done = run_ccw("cli", "-p", prompt, "--json", *extra, env={"TEST_GEMINI_KEY": KEY})
    assert done.returncode == 0, done.stderr
    assert KEY not in done.stdout + done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def expected_cost(prompt: int, cached: int, written: int, out: int) -> float:
    """The call's price from LiteLLM's bundled prices: plain input, cache reads, the
    create's tokens at the plain input price (Gemini bills a create as input), output."""
    entry = prices("gemini", f"gemini/{MODEL}")
    assert entry is not None
    plain, read = entry["input_cost_per_token"], entry["cache_read_input_token_cost"]
    total = (prompt - cached - written) * plain + cached * read + written * plain
    return round(total + out * entry["output_cost_per_token"], 8)


@pytest.mark.timeout(400)  # five ccw processes, each importing LiteLLM on a busy machine
def test_five_calls_one_create_no_list_ttl_patched_and_the_ledger_matches(
    project: Path, fresh: GeminiServer, run_ccw: RunCcw
) -> None:
    setup(project, fresh)
    results = [ask(run_ccw) for _ in range(5)]
    assert fresh.creates(), (
        "no cached content was made: the LiteLLM executor must hand complete() the request "
        "and the project root (request=, project_root=)"
    )
    assert len(fresh.creates()) == 1 and fresh.list_calls == 0
    assert len(fresh.patches()) == 4
    (cached,) = fresh.cached.values()
    assert fresh.creates()[0].body["ttl"] == "1200s"
    calls = fresh.model_calls()
    assert len(calls) == 5
    for sent in calls:
        assert sent.body["cachedContent"] == cached.name
        assert "def f():" not in json.dumps(sent.body["contents"])
    for index, result in enumerate(results):
        usage = result["usage"]
        written = cached.tokens if index == 0 else 0
        assert usage["cachedTokens"] == cached.tokens
        assert (usage["cacheWriteTokens"] or 0) == written
        question = usage["promptTokens"] - cached.tokens - written
        assert question == max(1, len("@big.py Explain it") // 4)
        cost = expected_cost(usage["promptTokens"], cached.tokens, written, 6)
        assert result["cost"] == pytest.approx(cost, abs=1e-9)
    history = run_ccw("cli", "history", "--limit", "5")
    assert history.returncode == 0


def test_cache_clear_deletes_it_on_the_server(
    project: Path, fresh: GeminiServer, run_ccw: RunCcw
) -> None:
    setup(project, fresh)
    ask(run_ccw)
    (name,) = fresh.cached
    done = run_ccw("cache", "clear", env={"TEST_GEMINI_KEY": KEY})
    assert done.returncode == 0, done.stderr
    assert "deleted 1 Gemini cached content on the provider" in done.stdout + done.stderr
    assert fresh.cached == {}
    assert [r.path for r in fresh.deletes()] == [f"/v1beta/{name}"]
    assert fresh.deletes()[0].headers["x-goog-api-key"] == KEY
    ask(run_ccw)
    as_json = run_ccw("cache", "clear", "--json", env={"TEST_GEMINI_KEY": KEY})
    (second,) = [r.path.rsplit("/", 1)[1] for r in fresh.deletes()[1:]]
    assert json.loads(as_json.stdout) == {
        "removed": 1,
        "remoteDeleted": [f"cachedContents/{second}"],
    }
    again = run_ccw("cache", "clear", "--json", env={"TEST_GEMINI_KEY": KEY})
    assert json.loads(again.stdout) == {"removed": 0}


def test_cache_clear_without_the_key_warns_and_a_later_clear_deletes(
    project: Path, fresh: GeminiServer, run_ccw: RunCcw
) -> None:
    setup(project, fresh)
    ask(run_ccw)
    done = run_ccw("cache", "clear")
    assert done.returncode == 0, done.stderr
    assert "not deleted" in done.stderr and "Traceback" not in done.stderr
    assert len(fresh.cached) == 1 and fresh.deletes() == []
    later = run_ccw("cache", "clear", "--json", env={"TEST_GEMINI_KEY": KEY})
    assert json.loads(later.stdout)["remoteDeleted"] and fresh.cached == {}


def test_below_the_minimum_nothing_is_created(
    project: Path, fresh: GeminiServer, run_ccw: RunCcw
) -> None:
    setup(project, fresh)
    result = ask(run_ccw, "@small.py What is x?")
    assert fresh.creates() == [] and fresh.patches() == [] and fresh.list_calls == 0
    assert all("cachedContent" not in r.body for r in fresh.model_calls())
    assert result["usage"]["cachedTokens"] == 0


def test_disabled_strategy_sends_none_of_it(
    project: Path, fresh: GeminiServer, run_ccw: RunCcw
) -> None:
    setup(project, fresh, enabled=False)
    ask(run_ccw)
    assert fresh.creates() == [] and fresh.patches() == [] and fresh.list_calls == 0
    assert all("cachedContent" not in r.body for r in fresh.model_calls())


def test_the_dashboard_clear_deletes_it_too(
    project: Path, fresh: GeminiServer, run_ccw: RunCcw, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from ccw.paths import CONFIG_RELATIVE
    from ccw.server.app import create_app

    setup(project, fresh)
    ask(run_ccw)
    (name,) = fresh.cached
    monkeypatch.setenv("TEST_GEMINI_KEY", KEY)
    app = create_app(project / CONFIG_RELATIVE, None, "127.0.0.1", 3000)
    with TestClient(app, base_url="http://127.0.0.1:3000") as client:
        answer = client.post("/api/litellm-api/cache/clear", json={})
    assert answer.status_code == 200, answer.text
    assert answer.json()["remoteDeleted"] == [name]
    assert KEY not in answer.text
    assert fresh.cached == {}
