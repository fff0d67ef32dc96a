"""ccw on a team's LiteLLM proxy, end to end: two real proxy replicas (from the exported
compose files) sharing one redis-server, the test provider behind them, and ccw calling
through a ``litellm-proxy`` provider (see conftest)."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ccw.config.layers import LayeredConfig
from ccw.exec.proxy_http import ProxyRefusedError
from ccw.exec.proxy_spend import ProxySpendUnavailableError, read_team_spend
from tests.proxy.conftest import MASTER, PROJECT, UPSTREAM_A, UPSTREAM_B, Team, run_ccw

# The first test also waits for both proxies to start (seconds each, more on a busy machine).
pytestmark = pytest.mark.timeout(600)


def _ccw(team: Team, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_ccw(team.member, {**team.env, **env}, *args)


def _last_call(team: Team) -> dict[str, object]:
    done = _ccw(team, "cli", "history", "-n", "1", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    calls = data["calls"] if isinstance(data, dict) else data
    return dict(calls[0])


def test_provider_test_asks_the_proxys_health_and_models(team: Team) -> None:
    done = _ccw(team, "provider", "test", "team", "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    result = json.loads(done.stdout)
    # main, sonnet, and the built-in local endpoint every ccw config has
    assert result["success"] is True and result["models"] == 3
    wrong = _ccw(team, "provider", "test", "team", "--json", TEAM_PROXY_KEY="sk-not-a-team-key")
    # Without its database the proxy cannot look a virtual key up: it answers 400.
    assert wrong.returncode == 10, wrong.stdout + wrong.stderr
    assert "master key" in json.loads(wrong.stdout)["error"]
    assert "sk-not-a-team-key" not in wrong.stdout + wrong.stderr


def test_discover_lists_the_proxys_models_with_windows_and_caching(team: Team) -> None:
    done = _ccw(team, "endpoint", "add", "--discover", "-p", "team", "--json")
    assert done.returncode == 0, done.stderr
    found = {m["model"]: m for m in json.loads(done.stdout)["models"]}
    assert set(found) == {"main", "sonnet", "local"}
    assert found["main"]["deployments"] == 2  # one per upstream key
    assert found["main"]["contextWindow"] == 128000  # gpt-4o-mini in the proxy's map
    assert found["sonnet"]["promptCaching"] is True
    assert MASTER not in done.stdout


def test_discover_checks_the_model_before_adding(team: Team) -> None:
    config = team.member / ".ccw" / "storage" / "config" / "litellm-api-config.json"
    before = config.read_text()
    missing = _ccw(team, "endpoint", "add", "extra", "-p", "team", "-m", "nope", "--discover")
    assert missing.returncode == 4, missing.stderr
    assert "its models:" in missing.stderr and "sonnet" in missing.stderr
    assert "Traceback" not in missing.stderr and config.read_text() == before
    added = _ccw(team, "endpoint", "add", "extra", "-p", "team", "-m", "main", "--discover")
    try:
        assert added.returncode == 0, added.stderr
        assert "extra" in [e["id"] for e in json.loads(config.read_text())["endpoints"]]
    finally:
        config.write_text(before)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_call_is_tagged_and_priced_by_the_proxy(team: Team, stream: bool) -> None:
    seen = len(team.tags_seen())
    args = ["cli", "-p", "hello there", "--model", "main", "--json"]
    done = _ccw(team, *args) if stream else _ccw(team, *args, "--no-stream")
    assert done.returncode == 0, done.stderr + team.log_tail()
    result = json.loads(done.stdout)
    assert result["costSource"] == "proxy"
    # gpt-4o-mini at the proxy's prices, tokens as the test provider counts them
    usage = result["usage"]
    expected = usage["promptTokens"] * 0.15e-6 + usage["completionTokens"] * 0.6e-6
    assert result["cost"] == pytest.approx(expected, rel=1e-6) and result["cost"] > 0
    call = _last_call(team)
    assert call.get("costSource", "proxy") == "proxy" and call["cost"] == result["cost"]
    tags = [entry["tags"] for entry in team.tags_seen()[seen:]]
    assert [f"ccw-project:{PROJECT}", f"ccw-endpoint:{PROJECT}/main"] in tags


def test_cache_breakpoints_go_through_the_proxy(team: Team) -> None:
    (team.member / "notes.md").write_text("stable context " * 200)
    before = len(team.upstream.requests)
    done = _ccw(team, "cli", "-p", "@notes.md summarise", "--model", "sonnet", "--json")
    assert done.returncode == 0, done.stderr + team.log_tail()
    sent = [r for r in team.upstream.requests[before:] if r.path == "/v1/messages"]
    assert sent, "the proxy sent nothing to the Anthropic route"
    blocks = [b for m in sent[-1].body["messages"] for b in m["content"] if isinstance(b, dict)]
    assert any("cache_control" in b and "stable context" in b["text"] for b in blocks)


def test_a_key_cooled_down_through_one_replica_is_cooled_down_on_the_other(
    team: Team,
) -> None:
    one, two = team.replicas

    def call(url: str) -> None:
        answer = httpx.post(
            f"{url}/v1/chat/completions",
            headers={"authorization": f"Bearer {MASTER}"},
            json={"model": "main", "messages": [{"role": "user", "content": "hi"}]},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text

    # Both keys serve through the second replica while neither is cooled down.
    start = team.upstream.calls_by_key()
    for _ in range(12):
        call(two)
    used = team.upstream.calls_by_key()
    assert used.get(UPSTREAM_A, 0) > start.get(UPSTREAM_A, 0)
    assert used.get(UPSTREAM_B, 0) > start.get(UPSTREAM_B, 0)

    # Key A is rate-limited upstream: the first replica meets its 429 and cools it down.
    team.upstream.refuse_key(UPSTREAM_A, 429)
    try:
        for _ in range(20):
            before = team.upstream.calls_by_key().get(UPSTREAM_A, 0)
            call(one)  # the proxy moves on to key B
            if team.upstream.calls_by_key().get(UPSTREAM_A, 0) > before:
                break
        else:
            pytest.fail("the first replica never tried key A")
    finally:
        team.upstream.accept_key(UPSTREAM_A)
    cooled = subprocess.run(
        ["redis-cli", "-p", str(team.redis_port), "--scan", "--pattern", "*cooldown*"],
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout
    assert cooled.strip(), "no cooldown reached the shared Redis"
    # A replica asks Redis again for a key it found no cooldown for at most once a second
    # (LiteLLM's DEFAULT_COOLDOWN_REDIS_READ_INTERVAL_SECONDS): the second replica sees the
    # shared cooldown from then on.
    time.sleep(1.5)

    # Key A works again upstream, but the second replica keeps to the shared cooldown.
    before = team.upstream.calls_by_key()
    for _ in range(10):
        call(two)
    after = team.upstream.calls_by_key()
    assert after.get(UPSTREAM_A, 0) == before.get(UPSTREAM_A, 0)
    assert after.get(UPSTREAM_B, 0) == before.get(UPSTREAM_B, 0) + 10


def test_spend_needs_the_proxys_database_and_a_key_that_may_read_it(team: Team) -> None:
    import os

    config = LayeredConfig.open(None, team.member).load()
    since = datetime.now(UTC) - timedelta(days=7)
    saved = os.environ.get("TEAM_PROXY_KEY")
    try:
        os.environ["TEAM_PROXY_KEY"] = "sk-not-a-team-key"
        with pytest.raises(ProxyRefusedError) as refused:
            read_team_spend(config, since, PROJECT)
        assert "sk-not-a-team-key" not in str(refused.value) and refused.value.fix
        os.environ["TEAM_PROXY_KEY"] = MASTER
        with pytest.raises(ProxySpendUnavailableError) as unavailable:
            read_team_spend(config, since, PROJECT)
        assert "DATABASE_URL" in (unavailable.value.fix or "")
    finally:
        if saved is None:
            os.environ.pop("TEAM_PROXY_KEY", None)
        else:
            os.environ["TEAM_PROXY_KEY"] = saved
