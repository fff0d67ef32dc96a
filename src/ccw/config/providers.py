"""What each provider type means to LiteLLM: model prefix, key variable, default base, models."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


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

# Where each type's API lives when a provider sets no apiBase.
DEFAULT_BASES: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "ollama": "http://localhost:11434",
    "gemini": "https://generativelanguage.googleapis.com/v1beta",
    "mistral": "https://api.mistral.ai/v1",
    "deepseek": "https://api.deepseek.com/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "local": "http://127.0.0.1:8765/v1",
}


def kind(provider_type: str) -> ProviderKind:
    return KINDS[provider_type]


def origin(url: str | None) -> str | None:
    """``scheme://host:port`` of a URL, lower-cased, default ports made explicit."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = None
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def effective_origin(provider_type: str, api_base: str | None) -> str | None:
    """Where a provider's requests go: its apiBase, else its type's default base."""
    return origin(api_base or DEFAULT_BASES.get(provider_type))


def litellm_model(provider_type: str, model: str) -> str:
    """The model string LiteLLM routes on, e.g. ``openai/gpt-4o`` or ``ollama_chat/llama3.2``."""
    prefix = KINDS[provider_type].prefix
    if model.startswith(prefix + "/") and provider_type not in ("openrouter",):
        return model
    return f"{prefix}/{model}"
