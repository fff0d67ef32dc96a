"""The provider's prompt cache through the real CLI: what ccw sends to the test providers
(Anthropic breakpoints and their TTL, OpenAI's prompt_cache_key and retention), and what
``--json`` and the history record, priced from LiteLLM's bundled price data to the cent."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import endpoint, provider, write_config
from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer

KEY = "sk-test-cache-0123456789abcdef"
ENV = {"TEST_CACHE_KEY": KEY}
PROMPT = "@src/*.py Review this code"


def _prices(model: str) -> dict[str, Any]:
    spec = importlib.util.find_spec("litellm")
    assert spec is not None and spec.submodule_search_locations
    path = Path(spec.submodule_search_locations[0]) / "model_prices_and_context_window_backup.json"
    entry: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))[model]
    return entry


def _expected(model: str, usage: dict[str, Any]) -> tuple[float, float]:
    """(cost, cost uncached) of a call's usage at LiteLLM's prices for ``model``."""
    p = _prices(model)
    plain = p["input_cost_per_token"]
    read = p.get("cache_read_input_token_cost", plain)
    write = p.get("cache_creation_input_token_cost", plain)
    if usage["cacheWriteTtl"] == "1h":
        write = p.get("cache_creation_input_token_cost_above_1hr", write)
    out = usage["completionTokens"] * p["output_cost_per_token"]
    cost = (
        usage["uncachedTokens"] * plain
        + usage["cachedTokens"] * read
        + usage["cacheWriteTokens"] * write
        + out
    )
    return cost, usage["promptTokens"] * plain + out


@pytest.fixture
def code(project: Path) -> Path:
    """About 2,500 tokens of source: above every model's minimum cacheable prefix here."""
    (project / "src").mkdir()
    step = "def step_{0}(value):\n    return value * {0} + {1}\n\n"
    body = "".join(step.format(i, i * 7) for i in range(220))
    (project / "src" / "steps.py").write_text(body)
    return project


def _config(project: Path, server: ProviderServer, **strategy: Any) -> Path:
    cache = {"cacheStrategy": {"enabled": True, "ttlMinutes": 60, **strategy}}
    return write_config(
        project,
        {
            "providers": [
                provider("ant", "anthropic", server.url, apiKey="${TEST_CACHE_KEY}"),
                provider("oai", "openai", server.url + "/v1", apiKey="${TEST_CACHE_KEY}"),
                provider("dsk", "deepseek", server.url + "/v1", apiKey="${TEST_CACHE_KEY}"),
            ],
            "endpoints": [
                endpoint("claude", "ant", "claude-sonnet-4-5", maxTokens=64, **cache),
                endpoint("gpt5", "oai", "gpt-5.1", maxTokens=64, **cache),
                endpoint("gpt4o", "oai", "gpt-4o", maxTokens=64, **cache),
                endpoint("seek", "dsk", "deepseek-chat", maxTokens=64, **cache),
            ],
            "defaultEndpoint": "claude",
        },
    )


def _call(run_ccw: RunCcw, *args: str) -> dict[str, Any]:
    done = run_ccw("cli", "-p", PROMPT, "--json", *args, env=ENV)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    result["stderr"] = done.stderr
    return result


def _calls(server: ProviderServer, path: str) -> list[Any]:
    return [r for r in server.requests if r.method == "POST" and r.path == path]


def _marks(body: dict[str, Any]) -> list[tuple[int, Any]]:
    """(message index, cache_control) of every marked block of an Anthropic request."""
    return [
        (index, block["cache_control"])
        for index, turn in enumerate(body["messages"])
        if isinstance(turn["content"], list)
        for block in turn["content"]
        if "cache_control" in block
    ]


def _history(run_ccw: RunCcw) -> dict[str, dict[str, Any]]:
    listed = run_ccw("cli", "history", "--json")
    assert listed.returncode == 0, listed.stderr
    return {call["id"]: call for call in json.loads(listed.stdout)["calls"]}


def test_anthropic_writes_the_pack_once_and_reads_it_after(
    run_ccw: RunCcw, code: Path, server: ProviderServer
) -> None:
    _config(code, server)
    first = _call(run_ccw, "--model", "claude")  # streamed
    second = _call(run_ccw, "--model", "claude", "--no-stream")  # whole

    sent = _calls(server, "/v1/messages")
    assert [bool(r.body.get("stream")) for r in sent] == [True, False]
    for request in sent:
        pack, question = request.body["messages"][-1]["content"]
        assert pack["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
        assert "def step_219" in pack["text"] and "cache_control" not in question
    assert sent[0].body["messages"] == sent[1].body["messages"]

    written, read = first["usage"], second["usage"]
    assert written["cacheWriteTokens"] > 1024 and written["cacheWriteTtl"] == "1h"
    assert written["cachedTokens"] == 0
    assert read["cachedTokens"] == written["cacheWriteTokens"]
    assert read["cacheWriteTokens"] == 0
    assert first["packKey"] == second["packKey"]
    pack_text = sent[0].body["messages"][-1]["content"][0]["text"]
    assert first["packKey"] == hashlib.sha256(pack_text[: -len("\n\n---\n\n")].encode()).hexdigest()

    history = _history(run_ccw)
    for result in (first, second):
        cost, uncached = _expected("claude-sonnet-4-5", result["usage"])
        assert result["cost"] == pytest.approx(cost, abs=1e-8)
        assert result["costUncached"] == pytest.approx(uncached, abs=1e-8)
        assert result["costSource"] == "litellm" and result["cacheMiss"] is None
        recorded = history[result["id"]]
        assert recorded["usage"] == result["usage"]
        assert round(recorded["cost"], 2) == round(result["cost"], 2)
        assert recorded["cost"] == pytest.approx(result["cost"], abs=1e-8)
        assert recorded["costUncached"] == pytest.approx(result["costUncached"], abs=1e-8)
        assert recorded["packKey"] == result["packKey"]
    assert first["saved"] < 0 < second["saved"]  # the write costs more; the read pays back


def test_anthropic_status_line_splits_the_input(
    run_ccw: RunCcw, code: Path, server: ProviderServer
) -> None:
    _config(code, server)
    first = run_ccw("cli", "-p", PROMPT, "--model", "claude", env=ENV)
    second = run_ccw("cli", "-p", PROMPT, "--model", "claude", env=ENV)
    assert first.returncode == second.returncode == 0, second.stderr
    assert "k written (1h) · " in first.stderr and "more for the cache write" in first.stderr
    line = second.stderr.strip().splitlines()[-1]
    assert "k cached · " in line and " new · " in line and " out · " in line
    assert ", saved $0." in line


def test_below_the_minimum_no_breakpoint_is_sent(
    run_ccw: RunCcw, project: Path, server: ProviderServer
) -> None:
    (project / "src").mkdir()
    (project / "src" / "small.py").write_text("def small():\n    return 1\n")
    _config(project, server)
    first = _call(run_ccw, "--model", "claude")
    second = _call(run_ccw, "--model", "claude")
    for request in _calls(server, "/v1/messages"):
        assert not _marks(request.body)
    assert second["usage"]["cachedTokens"] == first["usage"]["cacheWriteTokens"] == 0
    assert second["cacheMiss"].startswith("below the model's minimum of 1,024 tokens")
    assert "read none of the pack" in second["stderr"]
    assert first["cacheMiss"] is None  # nothing had been sent before
    assert _history(run_ccw)[second["id"]]["cacheMiss"] == second["cacheMiss"]


def test_a_short_ttl_asks_for_five_minutes_and_disabled_sends_nothing(
    run_ccw: RunCcw, code: Path, server: ProviderServer
) -> None:
    _config(code, server, ttlMinutes=5)
    _call(run_ccw, "--model", "claude")
    _call(run_ccw, "--model", "gpt5")
    claude, gpt = _calls(server, "/v1/messages")[-1], _calls(server, "/v1/chat/completions")[-1]
    assert claude.body["messages"][-1]["content"][0]["cache_control"]["ttl"] == "5m"
    assert "prompt_cache_key" in gpt.body and "prompt_cache_retention" not in gpt.body

    _config(code, server, enabled=False)
    off = _call(run_ccw, "--model", "claude")
    _call(run_ccw, "--model", "gpt5")
    claude, gpt = _calls(server, "/v1/messages")[-1], _calls(server, "/v1/chat/completions")[-1]
    assert not _marks(claude.body)
    assert "prompt_cache_key" not in gpt.body and "prompt_cache_retention" not in gpt.body
    assert off["usage"]["cacheWriteTokens"] == 0


def test_openai_gets_a_cache_key_from_the_pack_and_reads_the_prefix(
    run_ccw: RunCcw, code: Path, server: ProviderServer
) -> None:
    _config(code, server)
    first = _call(run_ccw, "--model", "gpt5")
    second = _call(run_ccw, "--model", "gpt4o")
    third = _call(run_ccw, "--model", "gpt4o")
    gpt5, gpt4o, _ = _calls(server, "/v1/chat/completions")
    key = "ccw-" + first["packKey"][:32]
    assert gpt5.body["prompt_cache_key"] == key and gpt5.body["prompt_cache_retention"] == "24h"
    assert gpt4o.body["prompt_cache_key"] == key and "prompt_cache_retention" not in gpt4o.body
    assert first["usage"]["cachedTokens"] == 0
    # same key, same prefix: read in steps of 128 tokens from 1,024 on
    for result in (second, third):
        cached = result["usage"]["cachedTokens"]
        assert cached >= 1024 and cached % 128 == 0
    for model, result in (("gpt-5.1", first), ("gpt-4o", second), ("gpt-4o", third)):
        cost, uncached = _expected(model, result["usage"])
        assert result["cost"] == pytest.approx(cost, abs=1e-8)
        assert result["costUncached"] == pytest.approx(uncached, abs=1e-8)
    assert third["saved"] > 0
    history = _history(run_ccw)
    assert history[third["id"]]["usage"]["cachedTokens"] == third["usage"]["cachedTokens"]
    assert history[third["id"]]["saved"] == pytest.approx(third["saved"], abs=1e-8)


def test_automatic_caching_sends_nothing_and_reads_the_hits(
    run_ccw: RunCcw, code: Path, server: ProviderServer
) -> None:
    _config(code, server)
    _call(run_ccw, "--model", "seek")
    second = _call(run_ccw, "--model", "seek")
    for request in _calls(server, "/v1/chat/completions"):
        assert "prompt_cache_key" not in request.body
        assert all(isinstance(m["content"], str) for m in request.body["messages"])
    assert second["usage"]["cachedTokens"] >= 1024
    cost, uncached = _expected("deepseek/deepseek-chat", second["usage"])
    assert second["cost"] == pytest.approx(cost, abs=1e-8)
    assert second["costUncached"] == pytest.approx(uncached, abs=1e-8)


def test_a_changed_system_prompt_is_reported_as_a_missed_cache(
    run_ccw: RunCcw, code: Path, server: ProviderServer
) -> None:
    _config(code, server)
    _call(run_ccw, "--model", "claude", "-s", "You review code.")
    missed = _call(run_ccw, "--model", "claude", "-s", "You review code carefully.")
    assert missed["usage"]["cachedTokens"] == 0 and missed["usage"]["cacheWriteTokens"] > 0
    assert missed["cacheMiss"] == "different prefix: system prompt or earlier turns changed"
    assert "claude read none of the pack from its prompt cache" in missed["stderr"]
    assert _history(run_ccw)[missed["id"]]["cacheMiss"] == missed["cacheMiss"]


def test_a_pack_sent_longer_ago_than_the_provider_keeps_it_is_reported(
    run_ccw: RunCcw, code: Path, server: ProviderServer, tmp_path: Path
) -> None:
    _config(code, server)
    first = _call(run_ccw, "--model", "gpt4o")
    # Eleven minutes pass: in the history and at the provider (which keeps a prefix 10).
    database = next((tmp_path / "data").rglob("*.db"))
    with sqlite3.connect(database) as db:
        earlier = datetime.now(UTC) - timedelta(minutes=11)
        stamp = earlier.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        db.execute("UPDATE calls SET created_at = ? WHERE id = ?", (stamp, first["id"]))
    server.advance(11 * 60)
    late = _call(run_ccw, "--model", "gpt4o")
    assert late["usage"]["cachedTokens"] == 0
    assert late["cacheMiss"] == "more than 5 min since it was sent (provider TTL)"
    assert "sent 11 min ago" in late["stderr"]


def test_a_resumed_conversation_marks_its_earlier_turns(
    run_ccw: RunCcw, code: Path, server: ProviderServer
) -> None:
    _config(code, server)
    first = _call(run_ccw, "--model", "claude")
    done = run_ccw("cli", "--continue", "--json", "And now the tests?", env=ENV)
    assert done.returncode == 0, done.stderr
    resumed = json.loads(done.stdout)
    body = _calls(server, "/v1/messages")[-1].body
    messages = body["messages"]
    # one mark, at the end of the earlier turns (the old one on the pack is dropped)
    assert _marks(body) == [(len(messages) - 2, {"type": "ephemeral", "ttl": "1h"})]
    assert messages[-2]["role"] == "assistant"
    # the earlier pack is read back through the provider's look-back
    assert resumed["usage"]["cachedTokens"] == first["usage"]["cacheWriteTokens"]
    assert resumed["usage"]["cacheWriteTokens"] > 0
