"""Each provider type maps to the right LiteLLM model string and per-call arguments."""

from __future__ import annotations

import pytest

from ccw.config.schema import Config
from ccw.config.secrets import MissingKeyError
from ccw.errors import CcwError
from ccw.exec.litellm_call import _kwargs
from ccw.exec.target import DisabledError, resolve_target


def _config(ptype: str, model: str, **provider: object) -> Config:
    return Config.model_validate(
        {
            "providers": [{"id": "p", "type": ptype, **provider}],
            "endpoints": [{"id": "e", "providerId": "p", "model": model}],
            "defaultEndpoint": "e",
        }
    )


@pytest.mark.parametrize(
    ("ptype", "model", "expected"),
    [
        ("openai", "gpt-4o", "openai/gpt-4o"),
        ("anthropic", "claude-sonnet-4-5", "anthropic/claude-sonnet-4-5"),
        ("ollama", "llama3.2", "ollama_chat/llama3.2"),
        ("gemini", "gemini-2.5-pro", "gemini/gemini-2.5-pro"),
        ("azure", "my-deployment", "azure/my-deployment"),
        ("mistral", "mistral-large-latest", "mistral/mistral-large-latest"),
        ("deepseek", "deepseek-chat", "deepseek/deepseek-chat"),
        ("openrouter", "openai/gpt-4o", "openrouter/openai/gpt-4o"),
        ("custom", "glm-4", "openai/glm-4"),
    ],
)
def test_model_strings(ptype: str, model: str, expected: str) -> None:
    config = _config(ptype, model, apiKey="k-1", apiBase="https://host.example/v4")
    target = resolve_target(config, None)
    assert target.model == expected
    assert target.api_base == "https://host.example/v4"  # version suffixes kept as given


def test_per_call_arguments_and_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZ_KEY", "az-secret")
    monkeypatch.setenv("AZ_HOST", "myorg")
    config = _config(
        "azure",
        "dep",
        apiKey="${AZ_KEY}",
        apiBase="https://${AZ_HOST}.openai.azure.com",
        apiVersion="2024-10-21",
        organization="org-1",
        timeout=12.5,
        maxRetries=4,
        customHeaders={"X-Trace": "t-${AZ_HOST:-none}"},
    )
    with pytest.raises(CcwError, match="AZ_HOST"):
        resolve_target(config, "e")  # apiBase and header references need the allow-list
    config.allowed_env_vars = ["AZ_HOST"]
    target = resolve_target(config, "e")
    kwargs = _kwargs(target, [{"role": "user", "content": "hi"}], None, stream=False)
    assert kwargs["api_key"] == "az-secret"
    assert kwargs["api_base"] == "https://myorg.openai.azure.com"
    assert kwargs["api_version"] == "2024-10-21"
    assert kwargs["organization"] == "org-1"
    assert kwargs["timeout"] == 12.5
    assert kwargs["extra_headers"] == {"X-Trace": "t-myorg"}
    assert kwargs["num_retries"] == 0  # ccw owns the retry policy
    assert kwargs["max_tokens"] > 0  # always passed
    assert target.max_retries == 4
    assert _kwargs(target, [], 3.0, stream=False)["timeout"] == 3.0  # --timeout wins


def test_keys_come_from_the_standard_variable_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    config = _config("mistral", "codestral-latest")
    with pytest.raises(MissingKeyError, match="MISTRAL_API_KEY"):
        resolve_target(config, "e")
    monkeypatch.setenv("MISTRAL_API_KEY", "m-key")
    assert resolve_target(config, "e").api_key == "m-key"


def test_keyless_types_and_required_bases() -> None:
    ollama = resolve_target(_config("ollama", "llama3.2"), "e")
    assert ollama.api_base == "http://localhost:11434"
    with pytest.raises(Exception, match="needs an apiBase"):
        resolve_target(_config("custom", "m"), "e")


def test_disabled_provider_is_refused() -> None:
    config = _config("openai", "gpt-4o", apiKey="k", enabled=False)
    with pytest.raises(DisabledError, match="ccw provider update p --enable"):
        resolve_target(config, "e")
