"""``ccw cli --dry-run``: per endpoint a call may reach (itself, its fallbacks, a pool's
members), whether the pack fits, clears the provider's minimum cacheable size, what the first
call (cache write) and each repeat (cache read) cost, and the break-even, priced from
LiteLLM's bundled price data. Nothing is sent."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import endpoint, provider, write_config
from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer

KEYS = {"TEST_OPENAI_KEY": "sk-test-advice-1234", "TEST_ANTHROPIC_KEY": "sk-test-advice-5678"}


def _prices(model: str) -> dict[str, Any]:
    spec = importlib.util.find_spec("litellm")
    assert spec is not None and spec.submodule_search_locations
    path = Path(spec.submodule_search_locations[0]) / "model_prices_and_context_window_backup.json"
    entry: dict[str, Any] = json.loads(path.read_text())[model]
    return entry


def _break_even(first: float, repeat: float, uncached: float) -> int | None:
    """The fewest calls after which caching cost no more than sending uncached."""
    for calls in range(1, 1000):
        if first + (calls - 1) * repeat <= calls * uncached + 1e-12:
            return calls
    return None


@pytest.fixture
def setup(project: Path, server: ProviderServer) -> Path:
    (project / "big.py").write_text(
        "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(400))
    )
    (project / "small.py").write_text("def f(x):\n    return x\n")
    write_config(
        project,
        {
            "version": 1,
            "providers": [
                provider("ant", "anthropic", server.url, apiKey="${TEST_ANTHROPIC_KEY}"),
                provider("oai", "openai", server.url + "/v1", apiKey="${TEST_OPENAI_KEY}"),
                provider("cus", "custom", server.url + "/v1"),
            ],
            "endpoints": [
                endpoint(
                    "claude",
                    "ant",
                    "claude-sonnet-4-5",
                    cacheStrategy={"enabled": True, "ttlMinutes": 60},
                    fallbacks=["gpt", "mine"],
                ),
                endpoint("gpt", "oai", "gpt-4o", cacheStrategy={"ttlMinutes": 5}),
                endpoint("mine", "cus", "my-model"),
            ],
            "modelPools": [
                {
                    "id": "pooled",
                    "targetModel": "gpt-4o",
                    "autoDiscover": False,
                    "providers": [{"providerId": "oai"}, {"providerId": "cus"}],
                }
            ],
            "defaultEndpoint": "claude",
        },
    )
    return project


def _plan(run_ccw: RunCcw, *args: str) -> dict[str, Any]:
    done = run_ccw("cli", *args, "--dry-run", "--json", env=KEYS)
    assert done.returncode == 0, done.stderr
    plan: dict[str, Any] = json.loads(done.stdout)
    return plan


def test_each_endpoint_of_the_chain_with_its_cache_costs(
    run_ccw: RunCcw, setup: Path, server: ProviderServer
) -> None:
    plan = _plan(run_ccw, "-p", "@big.py Review")
    advice = {item["endpointId"]: item for item in plan["advice"]}
    assert [a["role"] for a in plan["advice"]] == ["endpoint", "fallback", "fallback"]
    assert list(advice) == ["claude", "gpt", "mine"]
    pack = advice["claude"]["packTokens"]
    tokens = plan["promptTokens"]
    assert pack > 1024 and tokens > pack

    claude, prices = advice["claude"], _prices("claude-sonnet-4-5")
    assert claude["cacheStyle"] == "breakpoint" and claude["clearsMinimum"] is True
    assert claude["minCacheableTokens"] == 1024 and claude["ttl"] == "1h"
    assert claude["contextWindow"] == 200000 and claude["fits"] is True
    rest = tokens - pack
    first = pack * prices["cache_creation_input_token_cost_above_1hr"]
    first += rest * prices["input_cost_per_token"]
    repeat = pack * prices["cache_read_input_token_cost"] + rest * prices["input_cost_per_token"]
    uncached = tokens * prices["input_cost_per_token"]
    assert claude["firstCallCost"] == pytest.approx(first, abs=1e-8)
    assert claude["repeatCallCost"] == pytest.approx(repeat, abs=1e-8)
    assert claude["uncachedCallCost"] == pytest.approx(uncached, abs=1e-8)
    assert claude["breakEvenCalls"] == _break_even(first, repeat, uncached) == 3

    gpt, prices = advice["gpt"], _prices("gpt-4o")
    assert gpt["cacheStyle"] == "cache_key" and gpt["clearsMinimum"] is True
    assert gpt["firstCallCost"] == pytest.approx(tokens * prices["input_cost_per_token"], abs=1e-8)
    repeat = pack * prices["cache_read_input_token_cost"] + rest * prices["input_cost_per_token"]
    assert gpt["repeatCallCost"] == pytest.approx(repeat, abs=1e-8)
    assert gpt["breakEvenCalls"] == 1  # an automatic cache bills no write

    mine = advice["mine"]
    assert mine["firstCallCost"] is None and mine["repeatCallCost"] is None  # unpriced
    assert mine["contextWindow"] is None and mine["fits"] is None
    assert server.requests == []

    text = run_ccw("cli", "-p", "@big.py Review", "--dry-run", env=KEYS)
    assert text.returncode == 0, text.stderr
    row = next(line for line in text.stdout.splitlines() if line.startswith("claude\t"))
    assert "breakpoint, 1h" in row and "3 calls" in row
    assert f"${claude['firstCallCost']:.6f}" in row and f"${claude['repeatCallCost']:.6f}" in row
    assert any(line.startswith("gpt (fallback)\t") for line in text.stdout.splitlines())
    assert server.requests == []


def test_a_pack_below_the_minimum_is_not_cached(run_ccw: RunCcw, setup: Path) -> None:
    plan = _plan(run_ccw, "-p", "@small.py Review")
    claude = plan["advice"][0]
    assert claude["clearsMinimum"] is False and claude["ttl"] is None
    assert claude["firstCallCost"] == claude["repeatCallCost"] == claude["uncachedCallCost"]
    assert claude["breakEvenCalls"] is None
    text = run_ccw("cli", "-p", "@small.py Review", "--dry-run", env=KEYS)
    assert "below the minimum of 1,024 tokens: not cached" in text.stdout


def test_a_pool_lists_each_member(run_ccw: RunCcw, setup: Path) -> None:
    plan = _plan(run_ccw, "-p", "@big.py Review", "--model", "pooled")
    members = [(a["role"], a["provider"], a["model"]) for a in plan["advice"]]
    assert members == [
        ("pool member", "oai", "openai/gpt-4o"),
        ("pool member", "cus", "openai/gpt-4o"),
    ]


def test_caching_switched_off_is_said(run_ccw: RunCcw, setup: Path) -> None:
    config = setup / ".ccw/storage/config/litellm-api-config.json"
    data = json.loads(config.read_text())
    data["endpoints"][0]["cacheStrategy"]["enabled"] = False
    config.write_text(json.dumps(data))
    claude = _plan(run_ccw, "-p", "@big.py Review")["advice"][0]
    assert claude["cacheStyle"] == "none" and claude["breakEvenCalls"] is None
    assert claude["firstCallCost"] == claude["repeatCallCost"] == claude["uncachedCallCost"]
