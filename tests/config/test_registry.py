"""The provider registry, the effective config and the error vocabulary, as units."""

from __future__ import annotations

import pytest

from ccw.config import providers
from ccw.config.effective import (
    LOCAL_ID,
    effective_config,
    find_endpoint,
    find_provider,
)
from ccw.config.schema import PROVIDER_TYPES, Config, Endpoint, Provider
from ccw.config.secrets import EnvNotAllowedError, MissingKeyError
from ccw.errors import (
    BusyError,
    CcwError,
    ConfigError,
    ConflictError,
    ExitCode,
    NotFoundError,
    UsageError,
)
from ccw.exec import faults
from ccw.exec.probe import ProbeResult
from ccw.exec.target import DisabledError
from ccw.server.app import error_status


def test_every_schema_type_is_registered() -> None:
    assert set(providers.KINDS) == set(PROVIDER_TYPES)
    assert all(spec.name == name for name, spec in providers.KINDS.items())


@pytest.mark.parametrize(
    ("provider_type", "model", "expected"),
    [
        ("openai", "gpt-4o", "openai/gpt-4o"),
        ("openai", "openai/gpt-4o", "openai/gpt-4o"),
        ("ollama", "llama3.2", "ollama_chat/llama3.2"),
        ("custom", "glm-4", "openai/glm-4"),
        ("openrouter", "openrouter/auto", "openrouter/openrouter/auto"),
        ("openrouter", "openai/gpt-4o", "openrouter/openai/gpt-4o"),
    ],
)
def test_litellm_model_strings(provider_type: str, model: str, expected: str) -> None:
    assert providers.litellm_model(provider_type, model) == expected


def test_probe_requests_send_the_key_as_each_type_expects() -> None:
    anthropic = providers.kind("anthropic").probe_request("https://h/v1", "k", None)
    assert anthropic.url == "https://h/v1/models"
    assert anthropic.headers["x-api-key"] == "k"
    assert anthropic.headers["anthropic-version"] == "2023-06-01"
    assert providers.kind("anthropic").probe_request("https://h", None).url == "https://h/v1/models"

    url, headers, params, list_key = providers.kind("azure").probe_request("https://a", "k", "v9")
    assert (url, headers["api-key"], params, list_key) == (
        "https://a/openai/models",
        "k",
        {"api-version": "v9"},
        "data",
    )
    ollama = providers.kind("ollama").probe_request("http://o", None)
    assert (ollama.url, ollama.list_key, "authorization" in ollama.headers) == (
        "http://o/api/tags",
        "models",
        False,
    )
    gemini = providers.kind("gemini").probe_request("https://g", "k")
    assert gemini.headers["x-goog-api-key"] == "k" and gemini.list_key == "models"
    openai = providers.kind("openai").probe_request("https://o/v1", "k")
    assert openai.headers["authorization"] == "Bearer k" and openai.url == "https://o/v1/models"


def test_each_type_names_how_its_prompt_cache_is_reached() -> None:
    styles = {name: spec.prompt_cache.style for name, spec in providers.KINDS.items()}
    assert styles["anthropic"] == "breakpoint"
    assert styles["openai"] == styles["custom"] == "cache_key"
    assert {styles[t] for t in ("deepseek", "azure", "mistral")} == {"automatic"}
    assert styles["gemini"] == "explicit"
    assert styles["ollama"] == styles["local"] == "none"


def test_bases_and_embedding() -> None:
    local = providers.kind("local")
    assert local.embedded and not local.priced
    assert local.base_for(None, 9000) == "http://127.0.0.1:9000/v1"
    assert local.base_for("http://x/v1", 9000) == "http://x/v1"
    assert providers.kind("openai").base_for(None, 9000) == "https://api.openai.com/v1"
    assert providers.kind("custom").base_for(None) is None
    assert providers.kind("ollama").call_base == "http://localhost:11434"
    assert providers.kind("openai").call_base is None  # LiteLLM knows its own default
    assert providers.effective_origin("anthropic", None) == "https://api.anthropic.com:443"


def test_one_key_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    monkeypatch.setenv("CCW_REG_KEY", "from-ref")
    assert providers.resolve_key(Provider(id="a", type="openai")) == "from-env"
    assert (
        providers.resolve_key(Provider(id="b", type="openai", api_key="${CCW_REG_KEY}"))
        == "from-ref"
    )
    assert providers.resolve_key(Provider(id="c", type="ollama")) is None
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(MissingKeyError) as caught:
        providers.resolve_key(Provider(id="d", type="openai"))
    assert caught.value.kind == "missing_key" and "OPENAI_API_KEY" in (caught.value.fix or "")


def _config(**data: object) -> Config:
    return Config.model_validate(data)


def test_effective_config_is_pure_and_idempotent() -> None:
    config = _config(providers=[{"id": "o", "type": "openai"}])
    before = config.to_json()
    effective = effective_config(config)
    assert config.to_json() == before
    assert [p.id for p in effective.providers] == ["o", LOCAL_ID]
    assert [e.id for e in effective.endpoints] == [LOCAL_ID]
    assert effective_config(effective) is effective


def test_builtin_endpoint_uses_an_embedded_provider_of_the_file() -> None:
    config = _config(providers=[{"id": "mine", "type": "local"}])
    effective = effective_config(config)
    assert [p.id for p in effective.providers] == ["mine"]
    assert find_endpoint(config, LOCAL_ID).provider_id == "mine"


def test_lookups_know_the_builtins_and_suggest_near_ids() -> None:
    config = _config(
        providers=[{"id": "openai-main", "type": "openai"}],
        endpoints=[{"id": "gpt", "providerId": "openai-main", "model": "gpt-4o"}],
    )
    assert isinstance(find_provider(config, LOCAL_ID), Provider)
    assert isinstance(find_endpoint(config, LOCAL_ID), Endpoint)
    assert find_endpoint(config, "gpt").model == "gpt-4o"
    with pytest.raises(NotFoundError) as caught:
        find_provider(config, "openai-man")
    assert "openai-main" in (caught.value.fix or "")
    with pytest.raises(NotFoundError):
        find_endpoint(config, "nope")


@pytest.mark.parametrize(
    ("error", "kind", "code", "status"),
    [
        (CcwError("x"), "ccw", ExitCode.FAILURE, 400),
        (ConfigError("x"), "config", ExitCode.CONFIG, 422),
        (BusyError("x"), "busy", ExitCode.CONFIG, 503),
        (NotFoundError("x"), "not_found", ExitCode.NOT_FOUND, 404),
        (ConflictError("x"), "conflict", ExitCode.USAGE, 409),
        (UsageError("x"), "usage", ExitCode.USAGE, 400),
        (MissingKeyError("x"), "missing_key", ExitCode.AUTH, 400),
        (EnvNotAllowedError("x"), "env_not_allowed", ExitCode.CONFIG, 400),
        (DisabledError("x"), "disabled", ExitCode.CONFIG, 409),
        (faults.ProviderFault(faults.NOT_FOUND, "x"), "not_found", ExitCode.BAD_REQUEST, 502),
        (faults.ProviderFault(faults.RATE_LIMIT, "x"), "rate_limit", ExitCode.RATE_LIMIT, 502),
    ],
)
def test_error_vocabulary(error: CcwError, kind: str, code: int, status: int) -> None:
    assert (error.kind, error.exit_code, error_status(error)) == (kind, code, status)
    assert not hasattr(error, "status")


def test_provider_fault_keeps_its_fault_kind() -> None:
    fault = faults.ProviderFault(faults.TIMEOUT, "slow")
    assert fault.fault is faults.TIMEOUT and fault.kind == "timeout"
    assert fault.message == "timeout: slow"


def test_probe_failures_carry_the_call_names_and_codes() -> None:
    result = ProbeResult.fault(faults.AUTHENTICATION, 5, "no")
    assert (result.error_kind, result.exit_code) == ("authentication", ExitCode.AUTH)
    refused = ProbeResult.refused(EnvNotAllowedError("x"), "x")
    assert (refused.error_kind, refused.exit_code) == ("env_not_allowed", ExitCode.CONFIG)
    assert "exitCode" not in result.to_dict()
