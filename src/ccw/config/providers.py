"""What each provider type means to LiteLLM: model prefix, key variable, default base, models."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProviderKind:
    prefix: str
    key_env: str | None
    needs_key: bool
    default_base: str | None = None
    needs_base: bool = False
    models: tuple[str, ...] = ()


KINDS: dict[str, ProviderKind] = {
    "openai": ProviderKind(
        "openai", "OPENAI_API_KEY", True, models=("gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3-mini")
    ),
    "anthropic": ProviderKind(
        "anthropic",
        "ANTHROPIC_API_KEY",
        True,
        models=("claude-sonnet-4-5", "claude-opus-4-1", "claude-3-5-haiku-latest"),
    ),
    "ollama": ProviderKind(
        "ollama_chat",
        None,
        False,
        default_base="http://localhost:11434",
        models=("llama3.2", "qwen2.5-coder", "mistral"),
    ),
    "gemini": ProviderKind(
        "gemini", "GOOGLE_API_KEY", True, models=("gemini-2.5-pro", "gemini-2.5-flash")
    ),
    "azure": ProviderKind("azure", "AZURE_API_KEY", True, needs_base=True, models=("gpt-4o",)),
    "mistral": ProviderKind(
        "mistral", "MISTRAL_API_KEY", True, models=("mistral-large-latest", "codestral-latest")
    ),
    "deepseek": ProviderKind(
        "deepseek", "DEEPSEEK_API_KEY", True, models=("deepseek-chat", "deepseek-reasoner")
    ),
    "openrouter": ProviderKind(
        "openrouter",
        "OPENROUTER_API_KEY",
        True,
        models=("anthropic/claude-sonnet-4.5", "openai/gpt-4o", "deepseek/deepseek-chat"),
    ),
    "custom": ProviderKind("openai", None, False, needs_base=True),
    "local": ProviderKind("openai", None, False, models=("smollm2-135m",)),
}


def kind(provider_type: str) -> ProviderKind:
    return KINDS[provider_type]


def litellm_model(provider_type: str, model: str) -> str:
    """The model string LiteLLM routes on, e.g. ``openai/gpt-4o`` or ``ollama_chat/llama3.2``."""
    prefix = KINDS[provider_type].prefix
    if model.startswith(prefix + "/") and provider_type not in ("openrouter",):
        return model
    return f"{prefix}/{model}"
