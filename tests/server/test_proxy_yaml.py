"""The LiteLLM proxy config in process: keys never literal, groups, weights, routing."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from ccw.config.schema import Config
from ccw.errors import UsageError
from ccw.exec.proxy_yaml import dump, proxy_config


def _config(**extra: Any) -> Config:
    data: dict[str, Any] = {
        "providers": [
            {
                "id": "oa",
                "type": "openai",
                "apiKey": "sk-literal-SECRET-1",
                "customHeaders": {"X-A": "${HDR_A}", "X-B": "plain-SECRET-2"},
                "routingStrategy": "latency-based",
                "llmModels": [{"id": "m", "endpointSettings": {"baseUrl": "http://10.0.0.1/v1"}}],
            },
            {
                "id": "multi",
                "type": "anthropic",
                "apiKeys": [
                    {"id": "k1", "key": "${K1}", "weight": 2},
                    {"id": "k2", "key": "prefix-${K2}"},
                    {"id": "k3", "key": "${K3}", "enabled": False},
                ],
                "llmModels": [{"id": "m"}],
            },
            {"id": "ol", "type": "ollama"},
            {"id": "env", "type": "mistral"},
        ],
        "endpoints": [
            {"id": "a", "providerId": "oa", "model": "m", "fallbacks": ["b", "gone"]},
            {"id": "b", "providerId": "multi", "model": "m"},
            {"id": "c", "providerId": "ol", "model": "llama3.2"},
            {"id": "d", "providerId": "env", "model": "mistral-large-latest"},
            {"id": "off", "providerId": "oa", "model": "m", "enabled": False},
        ],
        "defaultEndpoint": "a",
        "modelPools": [
            {
                "id": "pool",
                "targetModel": "m",
                "autoDiscover": False,
                "providers": [
                    {"providerId": "multi", "useAllKeys": False, "selectedKeyIds": ["k1"]},
                ],
            }
        ],
        **extra,
    }
    return Config.model_validate(data)


def _groups(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in data["model_list"]:
        found.setdefault(entry["model_name"], []).append(entry["litellm_params"])
    return found


def test_keys_and_headers_become_variables_never_values() -> None:
    out = proxy_config(_config())
    for secret in ("sk-literal-SECRET-1", "plain-SECRET-2", "prefix-"):
        assert secret not in out.text
    groups = _groups(out.data)
    (a,) = groups["a"]
    assert a["api_key"] == "os.environ/CCW_OA_API_KEY"
    assert a["extra_headers"] == {
        "X-A": "os.environ/HDR_A",
        "X-B": "os.environ/CCW_OA_HEADER_X_B",
    }
    assert a["api_base"] == "http://10.0.0.1/v1" and a["model"] == "openai/m"
    assert [(p["api_key"], p.get("weight")) for p in groups["b"]] == [
        ("os.environ/K1", 2),
        ("os.environ/CCW_MULTI_K2_API_KEY", 1),
    ]
    assert set(out.exports) == {"CCW_OA_API_KEY", "CCW_OA_HEADER_X_B", "CCW_MULTI_K2_API_KEY"}
    assert groups["c"][0]["api_key"] == "no-key" and groups["c"][0]["api_base"]
    assert groups["d"][0]["api_key"] == "os.environ/MISTRAL_API_KEY"
    assert "off" not in groups
    assert [p["api_key"] for p in groups["pool"]] == ["os.environ/K1"]
    for name in out.exports:
        assert name in out.text.split("model_list")[0]


def test_router_settings_follow_the_default_endpoint_and_keep_known_fallbacks() -> None:
    settings = proxy_config(_config()).data["router_settings"]
    assert settings["routing_strategy"] == "latency-based-routing"
    assert settings["fallbacks"] == [{"a": ["b"]}]
    pools_only = _config(defaultEndpoint=None)
    pools_only.providers[0].routing_strategy = None
    assert proxy_config(pools_only).data["router_settings"]["routing_strategy"] == "simple-shuffle"


def test_a_custom_provider_without_a_base_is_a_clear_error() -> None:
    config = Config.model_validate(
        {
            "providers": [{"id": "cu", "type": "custom", "apiKey": "${X}"}],
            "endpoints": [{"id": "e", "providerId": "cu", "model": "m"}],
        }
    )
    with pytest.raises(UsageError, match="needs an apiBase"):
        proxy_config(config)


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, 2.5, None, True], "b": {}, "c": [], "d": {"x y": 'q"u\\ote\n', "é": "ü"}},
        [{"k": [{"n": 1}]}, "s", [[1], []]],
        {"model_list": [{"model_name": "m", "litellm_params": {"weight": 3}}]},
    ],
)
def test_dump_is_yaml_that_reads_back_the_same(value: Any) -> None:
    assert yaml.safe_load(dump(value)) == value
