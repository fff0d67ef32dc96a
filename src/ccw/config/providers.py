"""The provider registry: everything that differs between provider types, in one place.

Each type (``openai``, ``anthropic``, ...) is a ``ProviderKind``: how LiteLLM names its models,
where its API lives, which variable holds its key, how a connection test lists its models and
sends the key, how it caches a prompt's prefix (``PromptCaching``), whether it is priced,
whether it is the embedded model. Callers ask ``kind(type)``; no other module branches on a
type's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Literal, NamedTuple
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


# How a type caches a prompt's prefix at the provider:
# - "breakpoint": only up to a ``cache_control`` mark in the request (Anthropic);
# - "cache_key": automatically, a ``prompt_cache_key`` sending like requests to the same cache
#   (OpenAI and OpenAI-compatible servers);
# - "automatic": automatically, nothing to send (DeepSeek, Azure, Mistral);
# - "explicit": a cached-content object made beforehand and named in the call (Gemini);
# - "none": no prompt cache.
CacheStyle = Literal["breakpoint", "cache_key", "automatic", "explicit", "none"]

# (fnmatch pattern on the bare, lower-cased model name, value): the first match wins.
ByModel = tuple[tuple[str, int], ...]


def _bare(model: str) -> str:
    """``claude-sonnet-4-5`` of ``anthropic/claude-sonnet-4-5`` or
    ``openrouter/anthropic/claude-sonnet-4.5``: what the family patterns match."""
    return model.rsplit("/", 1)[-1].lower()


@dataclass(frozen=True)
class PromptCaching:
    """What a provider type's prompt cache takes: its style, the smallest prefix it caches
    by model family, and the lifetimes a request may ask for.

    ``min_tokens`` is the fallback: LiteLLM's bundled ``prompt_cache_min_tokens`` wins where
    it has one (``ccw.exec.prompt_cache.minimum_tokens``).
    """

    style: CacheStyle = "none"
    min_tokens: ByModel = ()
    # Lifetimes a request may ask for, shortest first: (the name sent, minutes it keeps).
    # The first one is the provider's default.
    ttls: tuple[tuple[str, int], ...] = ()
    # Models that take the lifetimes after the first (all, when empty).
    long_ttl_models: tuple[str, ...] = ()
    # Models of a type without breakpoints that take them all the same (OpenRouter's Claude).
    breakpoint_models: tuple[str, ...] = ()

    def style_for(self, model: str) -> CacheStyle:
        """The style of one model of this type."""
        bare = _bare(model)
        if any(fnmatchcase(bare, pattern) for pattern in self.breakpoint_models):
            return "breakpoint"
        return self.style

    def min_tokens_for(self, model: str) -> int | None:
        """The smallest prefix the provider caches for ``model`` (None: not known)."""
        bare = _bare(model)
        return next((n for pattern, n in self.min_tokens if fnmatchcase(bare, pattern)), None)

    def ttl_for(self, minutes: int, model: str) -> str | None:
        """The lifetime to ask for when ccw keeps a pack ``minutes``: the shortest that
        covers them, else the longest the model takes (None: the type has no choice)."""
        usable = list(self.ttls[:1])
        if not self.long_ttl_models or any(
            fnmatchcase(_bare(model), pattern) for pattern in self.long_ttl_models
        ):
            usable = list(self.ttls)
        if not usable:
            return None
        return next((name for name, keeps in usable if keeps >= minutes), usable[-1][0])


_ANTHROPIC_MIN: ByModel = (
    ("claude-haiku-4[.-]5*", 4096),
    ("claude-opus-4[.-]5*", 4096),
    ("claude-3[.-]5-haiku*", 2048),
    ("claude-3-haiku*", 2048),
    ("claude*", 1024),
)
_ANTHROPIC = PromptCaching("breakpoint", min_tokens=_ANTHROPIC_MIN, ttls=(("5m", 5), ("1h", 60)))
# OpenAI caches prefixes of 1,024 tokens and more; "in_memory" keeps one 5 to 10 minutes of
# inactivity, "24h" a day, for the models that offer it.
_OPENAI = PromptCaching(
    "cache_key",
    min_tokens=(("*", 1024),),
    ttls=(("in_memory", 5), ("24h", 1440)),
    long_ttl_models=("gpt-4.1", "gpt-4.1-20*", "gpt-5", "gpt-5-20*", "gpt-5-codex*", "gpt-5.*"),
)


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
    prompt_cache: PromptCaching = field(default_factory=PromptCaching)
    priced: bool = True  # LiteLLM's price map has its models
    embedded: bool = False  # the local model ccw runs itself
    team_proxy: bool = False  # a LiteLLM proxy: calls tagged, priced by its cost header

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


_KINDS: tuple[ProviderKind, ...] = (
    ProviderKind(
        "openai",
        "openai",
        "OPENAI_API_KEY",
        default_base="https://api.openai.com/v1",
        models=("gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3-mini"),
        prompt_cache=_OPENAI,
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
        prompt_cache=_ANTHROPIC,
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
        # The smallest cached content each family accepts (the API's 400 names it:
        # "min_total_token_count"), first match wins; an unlisted model gets the largest,
        # so ccw never asks for a create the provider refuses.
        prompt_cache=PromptCaching(
            "explicit",
            min_tokens=(
                ("gemini-2.5-flash-lite*", 2048),
                ("gemini-2.5-flash*", 1024),
                ("gemini-2.5-pro*", 4096),
                ("gemini-2.0-flash*", 2048),
                ("gemini-3*", 4096),
                ("*", 4096),
            ),
        ),
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
        prompt_cache=PromptCaching("automatic", min_tokens=(("*", 1024),)),
    ),
    ProviderKind(
        "mistral",
        "mistral",
        "MISTRAL_API_KEY",
        default_base="https://api.mistral.ai/v1",
        models=("mistral-large-latest", "codestral-latest"),
        prompt_cache=PromptCaching("automatic"),
    ),
    ProviderKind(
        "deepseek",
        "deepseek",
        "DEEPSEEK_API_KEY",
        default_base="https://api.deepseek.com/v1",
        models=("deepseek-chat", "deepseek-reasoner"),
        prompt_cache=PromptCaching("automatic", min_tokens=(("*", 64),)),  # 64-token units
    ),
    ProviderKind(
        "openrouter",
        "openrouter",
        "OPENROUTER_API_KEY",
        default_base="https://openrouter.ai/api/v1",
        models=("anthropic/claude-sonnet-4.5", "openai/gpt-4o", "deepseek/deepseek-chat"),
        prefixed_models_kept=False,  # its model names start with another vendor's name
        # Claude and Gemini through OpenRouter cache only up to a breakpoint.
        prompt_cache=PromptCaching(
            "automatic",
            min_tokens=(*_ANTHROPIC_MIN, ("gemini-2[.-]5-pro*", 4096), ("*", 1024)),
            ttls=_ANTHROPIC.ttls,
            breakpoint_models=("*claude*", "*gemini*"),
        ),
    ),
    ProviderKind(
        "custom",
        "openai",
        needs_key=False,
        needs_base=True,
        priced=False,
        prompt_cache=PromptCaching("cache_key"),  # an OpenAI-compatible server's own rules
    ),
    ProviderKind(
        "local",
        "openai",
        needs_key=False,
        default_base="http://127.0.0.1:8765/v1",
        models=("smollm2-135m",),
        priced=False,
        embedded=True,
    ),
    ProviderKind(
        "litellm-proxy",
        "litellm_proxy",
        "LITELLM_PROXY_API_KEY",
        needs_base=True,
        models_path="/v1/models",
        # Breakpoints reach the proxy's Anthropic deployments; it drops them for the others.
        prompt_cache=PromptCaching("breakpoint", ttls=(("5m", 5), ("1h", 60))),
        priced=False,  # its model names are its own: the proxy prices each call
        team_proxy=True,
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
