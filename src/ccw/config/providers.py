"""The provider registry: everything that differs between provider types, in one place.

Each type (``openai``, ``anthropic``, ...) is a ``ProviderKind``: how LiteLLM names its models,
where its API lives, which variable holds its key, how a connection test lists its models and
sends the key, whether it caches a prompt's pack, whether it is priced, whether it is the
embedded model. Callers ask ``kind(type)``; no other module branches on a type's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from ccw.config.secrets import MissingKeyError, lookup, resolve

if TYPE_CHECKING:
    from ccw.config.schema import Provider


class ModelsRequest(NamedTuple):
    """The connection test's request: GET ``url`` and count the list under ``list_key``."""

    url: str
    headers: dict[str, str]
    params: dict[str, str]
    list_key: str


@dataclass(frozen=True)
class Versioned:
    """An API version sent with each request, as a header or a query parameter."""

    name: str
    default: str


@dataclass(frozen=True)
class ProviderKind:
    """What one provider type means to LiteLLM, to the connection test and to a call."""

    name: str
    prefix: str  # LiteLLM's model prefix: ``openai/gpt-4o``
    key_env: str | None = None  # the type's usual key variable
    needs_key: bool = True
    default_base: str | None = None  # where the API lives when a provider sets no apiBase
    call_base: str | None = None  # apiBase given to LiteLLM when none is set
    needs_base: bool = False
    models: tuple[str, ...] = ()
    prefixed_models_kept: bool = True  # a model already carrying the prefix is kept as is
    models_path: str = "/models"
    list_key: str = "data"
    auth_header: str = "authorization"
    auth_scheme: str = "Bearer "
    version_header: Versioned | None = None
    version_param: Versioned | None = None
    caches_prompt: bool = False  # a cache breakpoint on the pack: repeats bill as cache reads
    priced: bool = True  # LiteLLM's price map has its models
    embedded: bool = False  # the local model ccw runs itself

    def litellm_model(self, model: str) -> str:
        """The model string LiteLLM routes on, e.g. ``openai/gpt-4o``."""
        if self.prefixed_models_kept and model.startswith(self.prefix + "/"):
            return model
        return f"{self.prefix}/{model}"

    def base_for(self, api_base: str | None, local_port: int | None = None) -> str | None:
        """Where requests go: the provider's apiBase, else the embedded model's port, else
        the type's default base."""
        if api_base:
            return api_base
        if self.embedded and local_port:
            return f"http://127.0.0.1:{local_port}/v1"
        return self.default_base

    def probe_request(
        self, base: str, key: str | None, api_version: str | None = None
    ) -> ModelsRequest:
        """The cheapest real request: the model list, the key sent as this type sends it."""
        path = self.models_path
        if path.startswith("/v1/") and base.endswith("/v1"):
            path = path[len("/v1") :]
        headers: dict[str, str] = {"accept": "application/json"}
        params: dict[str, str] = {}
        if self.version_header:
            headers[self.version_header.name] = api_version or self.version_header.default
        if self.version_param:
            params[self.version_param.name] = api_version or self.version_param.default
        if key:
            headers[self.auth_header] = self.auth_scheme + key
        return ModelsRequest(base + path, headers, params, self.list_key)

    def user_content(self, pack: str, separator: str, prompt: str) -> str | list[dict[str, Any]]:
        """The user turn: pack, separator and prompt; a prompt-caching type gets the pack as
        its own block with a cache breakpoint, so that a repeated pack is a cache read."""
        if not self.caches_prompt:
            return pack + separator + prompt
        return [
            {"type": "text", "text": pack + separator, "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": prompt},
        ]


_KINDS: tuple[ProviderKind, ...] = (
    ProviderKind(
        "openai",
        "openai",
        "OPENAI_API_KEY",
        default_base="https://api.openai.com/v1",
        models=("gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3-mini"),
    ),
    ProviderKind(
        "anthropic",
        "anthropic",
        "ANTHROPIC_API_KEY",
        default_base="https://api.anthropic.com",
        models=("claude-sonnet-4-5", "claude-opus-4-1", "claude-3-5-haiku-latest"),
        models_path="/v1/models",
        auth_header="x-api-key",
        auth_scheme="",
        version_header=Versioned("anthropic-version", "2023-06-01"),
        caches_prompt=True,
    ),
    ProviderKind(
        "ollama",
        "ollama_chat",
        needs_key=False,
        default_base="http://localhost:11434",
        call_base="http://localhost:11434",
        models=("llama3.2", "qwen2.5-coder", "mistral"),
        models_path="/api/tags",
        list_key="models",
        priced=False,
    ),
    ProviderKind(
        "gemini",
        "gemini",
        "GOOGLE_API_KEY",
        default_base="https://generativelanguage.googleapis.com/v1beta",
        models=("gemini-2.5-pro", "gemini-2.5-flash"),
        list_key="models",
        auth_header="x-goog-api-key",
        auth_scheme="",
    ),
    ProviderKind(
        "azure",
        "azure",
        "AZURE_API_KEY",
        needs_base=True,
        models=("gpt-4o",),
        models_path="/openai/models",
        auth_header="api-key",
        auth_scheme="",
        version_param=Versioned("api-version", "2024-10-21"),
    ),
    ProviderKind(
        "mistral",
        "mistral",
        "MISTRAL_API_KEY",
        default_base="https://api.mistral.ai/v1",
        models=("mistral-large-latest", "codestral-latest"),
    ),
    ProviderKind(
        "deepseek",
        "deepseek",
        "DEEPSEEK_API_KEY",
        default_base="https://api.deepseek.com/v1",
        models=("deepseek-chat", "deepseek-reasoner"),
    ),
    ProviderKind(
        "openrouter",
        "openrouter",
        "OPENROUTER_API_KEY",
        default_base="https://openrouter.ai/api/v1",
        models=("anthropic/claude-sonnet-4.5", "openai/gpt-4o", "deepseek/deepseek-chat"),
        prefixed_models_kept=False,  # its model names start with another vendor's name
    ),
    ProviderKind("custom", "openai", needs_key=False, needs_base=True, priced=False),
    ProviderKind(
        "local",
        "openai",
        needs_key=False,
        default_base="http://127.0.0.1:8765/v1",
        models=("smollm2-135m",),
        priced=False,
        embedded=True,
    ),
)

KINDS: dict[str, ProviderKind] = {spec.name: spec for spec in _KINDS}


def kind(provider_type: str) -> ProviderKind:
    """The registry entry of a provider type (the schema admits only registered types)."""
    return KINDS[provider_type]


def resolve_key(provider: Provider) -> str | None:
    """The provider's key: its apiKey with ``${VAR}`` resolved, else its type's usual
    variable; ``None`` for a type that needs none. The call and the connection test both
    use this."""
    spec = kind(provider.type)
    if provider.api_key:
        return resolve(provider.api_key, what=f"provider {provider.id} apiKey")
    found = lookup(spec.key_env) if spec.key_env else None
    if found:
        return found
    if spec.needs_key:
        variable = spec.key_env or "YOUR_API_KEY"
        raise MissingKeyError(
            f"API key not configured for provider {provider.id} ({provider.type})",
            f"export {variable}=... and run: ccw provider update {provider.id} "
            f"--api-key '${{{variable}}}'",
        )
    return None


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
    return origin(kind(provider_type).base_for(api_base))


def litellm_model(provider_type: str, model: str) -> str:
    """The model string LiteLLM routes on, e.g. ``openai/gpt-4o`` or ``ollama_chat/llama3.2``."""
    return kind(provider_type).litellm_model(model)
