"""Several keys per provider, pools and fallbacks, in process through ``execute`` against
loopback test providers; the key health state is the real file in a temporary data dir."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ccw.exec import events
from ccw.exec.key_state import KeyStates, state_file
from ccw.exec.run import RunOptions, execute
from tests.cli.conftest import endpoint, provider, write_config
from tests.fakes.provider_server import DEFAULT_REPLY, ProviderServer

pytestmark = pytest.mark.usefixtures("data_dir")

GOOD = "sk-good-key-0000000000001111"
BAD = "sk-bad-key-00000000000002222"
THIRD = "sk-third-key-000000000003333"


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCW_KEY_GOOD", GOOD)
    monkeypatch.setenv("CCW_KEY_BAD", BAD)
    monkeypatch.setenv("CCW_KEY_THIRD", THIRD)


@pytest.fixture
def srv() -> Iterator[ProviderServer]:
    with ProviderServer() as server:
        yield server


def two_keys(base: str, strategy: str = "weighted", **extra: Any) -> dict[str, Any]:
    return provider(
        "multi",
        "openai",
        base,
        apiKey="",
        routingStrategy=strategy,
        apiKeys=[
            {"id": "good", "key": "${CCW_KEY_GOOD}", "weight": 3, "enabled": True},
            {"id": "bad", "key": "${CCW_KEY_BAD}", "weight": 1, "enabled": True},
        ],
        **extra,
    )


def _run(project: Path, config: Path, seen: list[events.Event] | None = None, **extra: Any) -> Any:
    options = RunOptions(prompt="hello", cwd=project, config=config, **extra)
    return execute(options, seen.append if seen is not None else None)


@pytest.mark.usefixtures("keys")
def test_a_refused_key_hands_the_call_to_the_other_and_is_set_aside(
    project: Path, srv: ProviderServer, data_dir: Path
) -> None:
    config = write_config(
        project,
        {
            "providers": [
                two_keys(
                    srv.url + "/v1",
                    "simple-shuffle",
                    healthCheck={
                        "enabled": False,
                        "intervalSeconds": 60,
                        "cooldownSeconds": 120,
                        "failureThreshold": 3,
                    },
                )
            ],
            "endpoints": [endpoint("e", "multi")],
        },
    )
    srv.refuse_key(BAD)
    for _ in range(6):
        result = _run(project, config, model="e")
        assert result.success, result.error
        assert result.output == DEFAULT_REPLY
        assert result.deployment == "multi/good"
    states = KeyStates(state_file(data_dir, config)).read()
    assert states["multi/bad"].health_status == "unhealthy"
    assert states["multi/bad"].last_error is not None and BAD not in states["multi/bad"].last_error
    assert states["multi/good"].health_status == "healthy"
    # the bad key cooled down: later calls skip it, so it was refused at most once
    assert srv.calls_by_key().get(BAD, 0) <= 1
    assert BAD not in state_file(data_dir, config).read_text()


@pytest.mark.usefixtures("keys")
def test_weights_split_the_calls_three_to_one(project: Path, srv: ProviderServer) -> None:
    config = write_config(
        project,
        {"providers": [two_keys(srv.url + "/v1")], "endpoints": [endpoint("e", "multi")]},
    )
    for _ in range(200):
        assert _run(project, config, model="e", record=False, stream=False).success
    counts = srv.calls_by_key()
    assert counts[GOOD] + counts[BAD] == 200
    assert 130 <= counts[GOOD] <= 170, counts  # 75 % +- 10 points


@pytest.mark.usefixtures("keys")
def test_a_pool_routes_over_every_member_and_names_the_deployment(project: Path) -> None:
    with ProviderServer() as one, ProviderServer() as two:
        config = write_config(
            project,
            {
                "providers": [
                    provider(
                        "p1",
                        "openai",
                        one.url + "/v1",
                        apiKey="${CCW_KEY_GOOD}",
                        llmModels=[{"id": "shared-model", "enabled": True}],
                    ),
                    provider(
                        "p2",
                        "openai",
                        two.url + "/v1",
                        apiKey="${CCW_KEY_THIRD}",
                        llmModels=[{"id": "shared-model", "enabled": True}],
                    ),
                    provider(
                        "p3",
                        "openai",
                        two.url + "/v1",
                        apiKey="${CCW_KEY_THIRD}",
                        llmModels=[{"id": "other", "enabled": True}],
                    ),
                ],
                "endpoints": [],
                "modelPools": [
                    {
                        "id": "pool",
                        "modelType": "llm",
                        "enabled": True,
                        "targetModel": "shared-model",
                        "strategy": "round_robin",
                        "autoDiscover": True,
                        "defaultCooldown": 30,
                        "defaultMaxConcurrentPerKey": 2,
                    },
                ],
            },
        )
        answered = {_run(project, config, model="pool", record=False).deployment for _ in range(12)}
        assert answered == {"p1/default", "p2/default"}
        assert {r.body["model"] for r in one.requests + two.requests} == {"shared-model"}


@pytest.mark.usefixtures("keys")
def test_custom_header_from_advanced_settings_reaches_the_provider(
    project: Path, srv: ProviderServer
) -> None:
    config = write_config(
        project,
        {
            "providers": [
                provider(
                    "adv",
                    "openai",
                    srv.url + "/v1",
                    apiKey="${CCW_KEY_GOOD}",
                    advancedSettings={
                        "customHeaders": {"X-Team": "blue", "X-Both": "adv"},
                        "timeout": 30,
                    },
                    customHeaders={"X-Both": "top"},
                    timeout=20,
                ),
            ],
            "endpoints": [endpoint("e", "adv")],
        },
    )
    seen: list[events.Event] = []
    result = _run(project, config, seen, model="e")
    assert result.success, result.error
    headers = srv.requests[-1].headers
    assert headers["x-team"] == "blue"
    assert headers["x-both"] == "top"
    warnings = [e.text for e in seen if isinstance(e, events.Warning)]
    assert any("timeout" in w and "top-level" in w for w in warnings)
    assert any("X-Both" in w for w in warnings)


@pytest.mark.usefixtures("keys")
def test_fallback_chain_429_then_500_then_ok(project: Path) -> None:
    with ProviderServer() as a, ProviderServer() as b, ProviderServer(reply="from c") as c:
        config = write_config(
            project,
            {
                "providers": [
                    provider(name, "openai", server.url + "/v1", apiKey="${CCW_KEY_GOOD}")
                    for name, server in (("pa", a), ("pb", b), ("pc", c))
                ],
                "endpoints": [
                    endpoint("ea", "pa", fallbacks=["eb", "ec"]),
                    endpoint("eb", "pb"),
                    endpoint("ec", "pc"),
                ],
            },
        )
        a.fail(429, retry_after=30)
        b.fail(500)
        seen: list[events.Event] = []
        result = _run(project, config, seen, model="ea")
        assert result.success, result.error
        assert result.output == "from c"
        assert result.endpoint_id == "ec"
        assert result.fallback_from == ["ea", "eb"]
        assert [len(s.requests) for s in (a, b, c)] == [1, 1, 1]
        statuses = [e.text for e in seen if isinstance(e, events.Status)]
        assert any("falling back" in s and "ea" in s for s in statuses)


@pytest.mark.usefixtures("keys")
def test_a_pack_too_big_for_the_window_skips_the_endpoint_unsent(project: Path) -> None:
    (project / "big.txt").write_text("word " * 4000)
    with ProviderServer() as small, ProviderServer(reply="big window") as large:
        config = write_config(
            project,
            {
                "providers": [
                    provider(
                        "ps",
                        "openai",
                        small.url + "/v1",
                        apiKey="${CCW_KEY_GOOD}",
                        llmModels=[{"id": "tiny", "capabilities": {"contextWindow": 1000}}],
                    ),
                    provider(
                        "pl",
                        "openai",
                        large.url + "/v1",
                        apiKey="${CCW_KEY_GOOD}",
                        llmModels=[{"id": "huge", "capabilities": {"contextWindow": 200000}}],
                    ),
                ],
                "endpoints": [
                    endpoint("small", "ps", "tiny", fallbacks=["large"]),
                    endpoint("large", "pl", "huge"),
                ],
            },
        )
        options = RunOptions(prompt="@big.txt summarise", cwd=project, config=config, model="small")
        result = execute(options)
        assert result.success, result.error
        assert result.output == "big window"
        assert result.fallback_from == ["small"]
        assert small.requests == []


def test_system_options_and_finish_reason_reach_the_call(
    project: Path, srv: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ccw.config.schema import Config, LocalModelSettings
    from ccw.exec.executor import Request
    from ccw.exec.litellm_executor import LiteLLMExecutor
    from ccw.exec.target import resolve_target

    monkeypatch.setenv("CCW_KEY_GOOD", GOOD)
    config = Config.model_validate(
        {
            "providers": [provider("p", "openai", srv.url + "/v1", apiKey="${CCW_KEY_GOOD}")],
            "endpoints": [endpoint("e", "p")],
        }
    )
    executor = LiteLLMExecutor(
        resolve_target(config, "e"), config_path=project / "cfg.json", local=LocalModelSettings()
    )
    for stream in (True, False):
        request = Request(
            prompt="hi",
            system="be brief",
            options={"seed": 7, "temperature": 0.5, "model": "ignored"},
            stream=stream,
        )
        result = executor.run(request, events.ignore)
        assert result.success and result.finish_reason == "stop"
        body = srv.requests[-1].body
        assert body["messages"][0] == {"role": "system", "content": "be brief"}
        assert (body["seed"], body["temperature"], body["model"]) == (7, 0.5, "gpt-4o")
    assert json.loads(json.dumps(result.to_dict()))["finishReason"] == "stop"


@pytest.mark.usefixtures("keys")
def test_the_proxy_of_advanced_settings_carries_the_calls(
    project: Path, srv: ProviderServer
) -> None:
    from tests.fakes.ports import free_port

    nowhere = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens: only the proxy answers
    config = write_config(
        project,
        {
            "providers": [
                provider(
                    "direct",
                    "openai",
                    nowhere,
                    apiKey="${CCW_KEY_GOOD}",
                    advancedSettings={"proxy": srv.url},
                ),
                two_keys(nowhere, advancedSettings={"proxy": srv.url}),
            ],
            "endpoints": [endpoint("plain", "direct"), endpoint("routed", "multi")],
        },
    )
    for model in ("plain", "routed"):
        result = _run(project, config, model=model, record=False)
        assert result.success, result.error
        assert result.output == DEFAULT_REPLY
    host = nowhere.split("//")[1].split("/")[0]
    assert srv.proxied == [host, host]


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(
    "strategy", ["simple-shuffle", "weighted", "latency-based", "cost-based", "least-busy"]
)
def test_every_routing_strategy_answers(project: Path, srv: ProviderServer, strategy: str) -> None:
    config = write_config(
        project,
        {"providers": [two_keys(srv.url + "/v1", strategy)], "endpoints": [endpoint("e", "multi")]},
    )
    for _ in range(3):
        result = _run(project, config, model="e", record=False)
        assert result.success, result.error
        assert result.deployment in ("multi/good", "multi/bad")


@pytest.mark.usefixtures("keys")
def test_model_capabilities_and_endpoint_settings_shape_the_call(
    project: Path, srv: ProviderServer
) -> None:
    from tests.fakes.ports import free_port

    config = write_config(
        project,
        {
            "providers": [
                provider(
                    "p",
                    "openai",
                    f"http://127.0.0.1:{free_port()}/v1",  # the model's own baseUrl wins
                    apiKey="${CCW_KEY_GOOD}",
                    customHeaders={"X-Shared": "provider"},
                    llmModels=[
                        {
                            "id": "whole",
                            "capabilities": {"streaming": False, "maxOutputTokens": 100},
                            "endpointSettings": {
                                "baseUrl": srv.url + "/v1",
                                "customHeaders": {"X-Model": "whole"},
                            },
                        }
                    ],
                )
            ],
            "endpoints": [endpoint("e", "p", "whole")],
        },
    )
    result = _run(project, config, model="e", record=False)
    assert result.success, result.error
    request = srv.requests[-1]
    assert request.body["stream"] is False if "stream" in request.body else True
    assert request.body["max_tokens"] == 100
    assert (request.headers["x-model"], request.headers["x-shared"]) == ("whole", "provider")


@pytest.mark.usefixtures("keys")
def test_an_unreachable_endpoint_falls_back_without_retrying_in_place(
    project: Path, srv: ProviderServer
) -> None:
    from tests.fakes.ports import free_port

    config = write_config(
        project,
        {
            "providers": [
                provider(
                    "gone",
                    "openai",
                    f"http://127.0.0.1:{free_port()}/v1",
                    apiKey="${CCW_KEY_GOOD}",
                    maxRetries=5,
                ),
                provider("here", "openai", srv.url + "/v1", apiKey="${CCW_KEY_GOOD}"),
            ],
            "endpoints": [
                endpoint("first", "gone", fallbacks=["missing", "second"]),
                endpoint("second", "here"),
            ],
        },
    )
    seen: list[events.Event] = []
    result = _run(project, config, seen, model="first", record=False)
    assert result.success, result.error
    assert (result.endpoint_id, result.fallback_from) == ("second", ["first"])
    texts = [e.text for e in seen if isinstance(e, events.Status | events.Warning)]
    assert not any("retry" in t for t in texts)  # the fallback is the retry
    assert any("missing" in t and "skipped" in t for t in texts)


@pytest.mark.usefixtures("keys")
def test_an_anthropic_provider_with_two_keys_fails_over_too(
    project: Path, srv: ProviderServer
) -> None:
    keyed = provider(
        "ant",
        "anthropic",
        srv.url,
        apiKey="",
        apiKeys=[
            {"id": "good", "key": "${CCW_KEY_GOOD}"},
            {"id": "bad", "key": "${CCW_KEY_BAD}"},
        ],
    )
    config = write_config(
        project, {"providers": [keyed], "endpoints": [endpoint("c", "ant", "claude-x")]}
    )
    srv.refuse_key(BAD)
    for _ in range(3):
        result = _run(project, config, model="c", record=False)
        assert result.success, result.error
        assert (result.deployment, result.finish_reason) == ("ant/good", "stop")
    assert {r.headers.get("x-api-key") for r in srv.requests} <= {GOOD, BAD}
