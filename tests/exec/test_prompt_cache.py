"""Request shaping for the provider's prompt cache, per provider type (in process), the
usage it reads back, the cost split and the missed-cache reasons."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest

from ccw.config.schema import Config
from ccw.context.request import ContextResult
from ccw.exec import cache_miss, pricing, prompt_cache
from ccw.exec.executor import Request
from ccw.exec.litellm_call import _usage
from ccw.exec.target import CallTarget, resolve_target
from ccw.result import ExecutionResult, Usage

SEP = "\n\n---\n\n"
BIG = "x" * 8000  # 2,000 tokens: above 1,024, below 4,096
SMALL = "x" * 400  # 100 tokens


def _target(ptype: str, model: str, *, endpoint: str = "e", **strategy: Any) -> CallTarget:
    config = Config.model_validate(
        {
            "providers": [
                {"id": "p", "type": ptype, "apiBase": "http://127.0.0.1:9/v1", "apiKey": "sk-x"}
            ],
            "endpoints": [
                {
                    "id": endpoint,
                    "providerId": "p",
                    "model": model,
                    "cacheStrategy": {"enabled": True, "ttlMinutes": 60, **strategy},
                }
            ],
        }
    )
    return resolve_target(config, endpoint)


def _request(pack: str = BIG, **more: Any) -> Request:
    context = ContextResult(pack=pack, prompt="Review it", total_tokens=len(pack) // 4)
    return Request(prompt="@x Review it", context=context if pack else None, **more)


def _marks(messages: list[dict[str, Any]]) -> list[tuple[int, Any]]:
    return [
        (index, block["cache_control"])
        for index, turn in enumerate(messages)
        if isinstance(turn["content"], list)
        for block in turn["content"]
        if "cache_control" in block
    ]


def test_anthropic_marks_the_end_of_the_pack_with_the_ttl_that_covers_the_endpoints() -> None:
    shaped = prompt_cache.shape(_target("anthropic", "claude-sonnet-4-5"), _request())
    assert shaped.kwargs == {}
    assert shaped.messages == [
        {
            "role": "user",
            "content": [
                {
                    "type": "text",
                    "text": BIG + SEP,
                    "cache_control": {"type": "ephemeral", "ttl": "1h"},
                },
                {"type": "text", "text": "Review it"},
            ],
        }
    ]
    short = prompt_cache.shape(_target("anthropic", "claude-sonnet-4-5", ttlMinutes=5), _request())
    assert _marks(short.messages) == [(0, {"type": "ephemeral", "ttl": "5m"})]


@pytest.mark.parametrize(
    ("model", "pack", "marked"),
    [
        ("claude-sonnet-4-5", SMALL, False),  # LiteLLM's data: 1,024
        ("claude-haiku-4-5", BIG, False),  # LiteLLM's data: 4,096
        ("claude-haiku-4-5", "x" * 17000, True),
        ("claude-3-5-haiku-latest", BIG, False),  # the registry's family value: 2,048
        ("claude-3-5-haiku-latest", "x" * 8400, True),
    ],
)
def test_no_breakpoint_below_the_models_minimum(model: str, pack: str, marked: bool) -> None:
    shaped = prompt_cache.shape(_target("anthropic", model), _request(pack))
    assert bool(_marks(shaped.messages)) is marked
    if not marked:
        assert shaped.messages[-1]["content"] == pack + SEP + "Review it"


def test_a_resumed_conversation_gets_a_mark_after_its_earlier_turns_and_loses_old_ones() -> None:
    old_mark = {"type": "ephemeral", "ttl": "5m"}
    prior = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": BIG + SEP, "cache_control": old_mark},
                {"type": "text", "text": "first"},
            ],
        },
        {"role": "assistant", "content": "an answer"},
    ]
    target = _target("anthropic", "claude-sonnet-4-5")
    shaped = prompt_cache.shape(target, _request(BIG, prior=prior, system="Be brief."))
    mark = {"type": "ephemeral", "ttl": "1h"}
    assert _marks(shaped.messages) == [(2, mark), (3, mark)]
    assert shaped.messages[0] == {"role": "system", "content": "Be brief."}
    assert shaped.messages[2]["content"] == [
        {"type": "text", "text": "an answer", "cache_control": mark}
    ]
    assert prior[0]["content"][0]["cache_control"] == old_mark  # the history's copy is kept
    # a short conversation without a pack: no mark
    short = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    assert _marks(prompt_cache.shape(target, _request("", prior=short)).messages) == []


def test_openai_gets_a_cache_key_from_the_packs_hash_and_retention_where_offered() -> None:
    key = "ccw-" + hashlib.sha256(BIG.encode()).hexdigest()[:32]
    gpt5 = prompt_cache.shape(_target("openai", "gpt-5.1"), _request())
    assert gpt5.kwargs == {"prompt_cache_key": key, "prompt_cache_retention": "24h"}
    assert gpt5.messages == [{"role": "user", "content": BIG + SEP + "Review it"}]
    assert prompt_cache.shape(_target("openai", "gpt-4o"), _request()).kwargs == {
        "prompt_cache_key": key
    }
    short = prompt_cache.shape(_target("openai", "gpt-5.1", ttlMinutes=5), _request())
    assert short.kwargs == {"prompt_cache_key": key}
    assert prompt_cache.shape(_target("openai", "gpt-5.1"), _request(SMALL)).kwargs == {}
    custom = prompt_cache.shape(_target("custom", "my-model"), _request(SMALL))
    assert custom.kwargs == {"prompt_cache_key": "ccw-" + prompt_cache.pack_key(SMALL)[:32]}


@pytest.mark.parametrize(
    ("ptype", "model"),
    [
        ("deepseek", "deepseek-chat"),
        ("azure", "gpt-4o"),
        ("mistral", "mistral-large-latest"),
        ("gemini", "gemini-2.5-pro"),
        ("ollama", "llama3.2"),
        ("openrouter", "openai/gpt-4o"),
    ],
)
def test_automatic_explicit_and_uncached_types_get_no_hints(ptype: str, model: str) -> None:
    shaped = prompt_cache.shape(_target(ptype, model), _request())
    assert shaped.kwargs == {}
    assert shaped.messages == [{"role": "user", "content": BIG + SEP + "Review it"}]


def test_claude_through_openrouter_gets_a_breakpoint() -> None:
    shaped = prompt_cache.shape(_target("openrouter", "anthropic/claude-sonnet-4.5"), _request())
    assert _marks(shaped.messages) == [(0, {"type": "ephemeral", "ttl": "1h"})]


@pytest.mark.parametrize(("ptype", "model"), [("anthropic", "claude-x"), ("openai", "gpt-5.1")])
def test_cache_strategy_off_sends_none_of_it(ptype: str, model: str) -> None:
    prior = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "old", "cache_control": {"type": "ephemeral"}}],
        },
        {"role": "assistant", "content": "ok"},
    ]
    shaped = prompt_cache.shape(_target(ptype, model, enabled=False), _request(prior=prior))
    assert shaped.kwargs == {} and _marks(shaped.messages) == []
    assert shaped.messages[-1] == {"role": "user", "content": BIG + SEP + "Review it"}


def test_a_pool_over_several_provider_types_shapes_nothing() -> None:
    models = [{"id": "shared"}]
    config = Config.model_validate(
        {
            "providers": [
                {"id": "a", "type": "anthropic", "apiKey": "sk-a", "llmModels": models},
                {"id": "o", "type": "openai", "apiKey": "sk-o", "llmModels": models},
            ],
            "modelPools": [{"id": "mix", "targetModel": "shared"}],
        }
    )
    target = resolve_target(config, "mix")
    assert {d.provider.type for d in target.deployments} == {"anthropic", "openai"}
    shaped = prompt_cache.shape(target, _request())
    assert shaped.kwargs == {} and _marks(shaped.messages) == []


def test_usage_reads_cache_reads_writes_and_their_ttl() -> None:
    anthropic = {
        "prompt_tokens": 3000,
        "completion_tokens": 9,
        "cache_creation_input_tokens": 2000,
        "cache_read_input_tokens": 0,
        "prompt_tokens_details": {
            "cached_tokens": 0,
            "cache_creation_token_details": {
                "ephemeral_5m_input_tokens": 0,
                "ephemeral_1h_input_tokens": 2000,
            },
        },
    }
    assert _usage(anthropic) == Usage(3000, 9, 0, 2000, "1h")
    assert _usage(anthropic).uncached_tokens == 1000
    openai = {
        "prompt_tokens": 2000,
        "completion_tokens": 5,
        "prompt_tokens_details": {"cached_tokens": 1152},
    }
    assert _usage(openai) == Usage(2000, 5, 1152, 0, None)
    assert _usage({"prompt_tokens": 10, "completion_tokens": 2}) == Usage(10, 2, 0, 0, None)


def _litellm_prices() -> dict[str, Any]:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("litellm")
    assert spec is not None and spec.submodule_search_locations
    path = Path(spec.submodule_search_locations[0]) / "model_prices_and_context_window_backup.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_cost_splits_reads_and_writes_by_ttl() -> None:
    p = _litellm_prices()["claude-sonnet-4-5"]
    for ttl, write_rate in (
        ("1h", p["cache_creation_input_token_cost_above_1hr"]),
        ("5m", p["cache_creation_input_token_cost"]),
        (None, p["cache_creation_input_token_cost"]),
    ):
        usage = Usage(3000, 10, 500, 2000, ttl)
        expected = (
            500 * p["input_cost_per_token"]
            + 500 * p["cache_read_input_token_cost"]
            + 2000 * write_rate
            + 10 * p["output_cost_per_token"]
        )
        model = "anthropic/claude-sonnet-4-5"
        assert pricing.cost("anthropic", model, usage) == pytest.approx(expected, abs=1e-10)
        uncached = 3000 * p["input_cost_per_token"] + 10 * p["output_cost_per_token"]
        assert pricing.uncached_cost("anthropic", model, usage) == pytest.approx(uncached)
    # a model without cache prices bills every input token at the plain price
    unpriced = Usage(100, 1, 50, 0, None)
    assert pricing.cost("custom", "openai/anything", unpriced) is None
    assert pricing.uncached_cost("custom", "openai/anything", unpriced) is None


def test_missed_cache_reasons() -> None:
    below = cache_miss._reason(500, 1024, timedelta(minutes=1), 5)
    assert below.startswith("below the model's minimum of 1,024 tokens")
    assert cache_miss._reason(2000, 1024, timedelta(minutes=61), 60) == (
        "more than 1 h since it was sent (provider TTL)"
    )
    assert cache_miss._reason(2000, 1024, timedelta(minutes=2), 5) == (
        "different prefix: system prompt or earlier turns changed"
    )
    assert cache_miss._reason(2000, None, timedelta(hours=3), None).startswith("different")


def test_status_line_splits_the_input_and_names_the_saving() -> None:
    from ccw.cli.run_cmd import status_line

    result = ExecutionResult(success=True, endpoint_id="claude", duration_ms=1200)
    result.usage = Usage(12_500, 310, 12_100, 0, None)
    result.cost, result.cost_uncached = 0.0041, 0.0351
    assert status_line(result) == (
        "claude · 1.2 s · 12.1k cached · 0.4k new · 310 out · $0.004100, saved $0.031000"
    )
    result.usage = Usage(2400, 7, 0, 2000, "1h")
    result.cost, result.cost_uncached = 0.0130, 0.0073
    assert "2.0k written (1h) · 0.4k new · 7 out · $0.013000, $0.005700 more" in (
        status_line(result)
    )
    result.usage, result.cost, result.cost_uncached = Usage(12, 7, 0, 0, None), None, None
    assert status_line(result) == "claude · 1.2 s · 12 in / 7 out · cost unknown"
