"""Pydantic models of ``litellm-api-config.json``: camelCase on disk, unknown fields kept."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

MAX_PATH_CHARS = 4096
MAX_NAME_BYTES = 255

ProviderType = Literal[
    "openai",
    "anthropic",
    "ollama",
    "gemini",
    "azure",
    "mistral",
    "deepseek",
    "openrouter",
    "custom",
    "local",
    "litellm-proxy",
]
PROVIDER_TYPES: tuple[str, ...] = ProviderType.__args__  # type: ignore[attr-defined]


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        allow_inf_nan=False,
        validate_assignment=True,
        defer_build=True,
    )

    def to_json(self) -> dict[str, Any]:
        """The on-disk form: camelCase keys, unset optional fields left out, extras kept."""
        data = self.model_dump(by_alias=True, mode="json")
        _drop_unset(self, data)
        return data


def _drop_unset(model: BaseModel, data: dict[str, Any]) -> None:
    """Leave out declared fields that are ``None``, at every depth; unknown fields stay as
    written, ``null`` included."""
    for name, info in type(model).model_fields.items():
        key = info.alias or name
        value = getattr(model, name)
        if value is None:
            data.pop(key, None)
        elif isinstance(value, BaseModel):
            _drop_unset(value, data[key])
        elif isinstance(value, list):
            for item, dumped in zip(value, data[key], strict=False):
                if isinstance(item, BaseModel):
                    _drop_unset(item, dumped)


class CacheStrategy(_Model):
    enabled: bool = True
    ttl_minutes: int = Field(default=60, ge=0, le=525_600, alias="ttlMinutes")
    max_size_kb: int = Field(default=512, ge=1, le=1_048_576, alias="maxSizeKB")
    file_patterns: list[str] = Field(default_factory=list)


class Budget(_Model):
    """A spending limit in USD (``ccw.exec.budget``). ``dailyUsd`` and ``monthlyUsd`` are hard
    caps: a call whose estimated input cost would take the spend of the day (or month, local
    time) past one is refused. ``warnAt`` is the share of a cap (default 0.8) past which a
    call warns on stderr."""

    daily_usd: float | None = Field(default=None, ge=0, strict=True)
    monthly_usd: float | None = Field(default=None, ge=0, strict=True)
    warn_at: float | None = Field(default=None, gt=0, le=1, strict=True)

    @model_validator(mode="after")
    def _has_a_cap(self) -> Budget:
        if self.daily_usd is None and self.monthly_usd is None:
            raise ValueError("a budget needs dailyUsd or monthlyUsd (USD, a number >= 0)")
        return self

    @field_serializer("daily_usd", "monthly_usd")
    def _whole_usd(self, value: float | None) -> float | int | None:
        """``5`` stays ``5`` on disk, not ``5.0``."""
        return int(value) if value is not None and float(value).is_integer() else value


class GlobalCacheSettings(_Model):
    enabled: bool = True
    cache_dir: str = "~/.ccw/cache/context"
    max_total_size_mb: float = Field(default=100, gt=0, le=1_048_576, alias="maxTotalSizeMB")
    # Folder names left out of globs such as ``**/*`` (not of explicit paths); ``None`` means
    # ccw's documented default list, ``[]`` turns the rule off.
    exclude_dirs: list[str] | None = None
    budget: Budget | None = None  # the spend of every call (``ccw.exec.budget``)

    @field_validator("cache_dir")
    @classmethod
    def _usable_dir(cls, value: str) -> str:
        """Names the file system refuses are errors here, not at the first cache write."""
        if not value.strip():
            raise ValueError("must name a folder")
        if "\0" in value:
            raise ValueError("must not contain a NUL character")
        if len(value) > MAX_PATH_CHARS:
            raise ValueError(f"must be at most {MAX_PATH_CHARS} characters")
        longest = max(len(part.encode()) for part in value.split("/"))
        if longest > MAX_NAME_BYTES:
            raise ValueError(f"holds a folder name longer than {MAX_NAME_BYTES} bytes")
        return value

    @field_serializer("max_total_size_mb")
    def _whole_mb(self, value: float) -> float | int:
        return int(value) if float(value).is_integer() else value


class LocalModelSettings(_Model):
    """The embedded llama.cpp server: where it listens and how big its context is."""

    port: int = Field(default=8765, ge=1, le=65535)
    context_size: int = Field(default=2048, ge=256)
    threads: int = Field(default=2, ge=1)


ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
MAX_ID_CHARS = 128
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


RoutingStrategy = Literal["simple-shuffle", "weighted", "latency-based", "cost-based", "least-busy"]
PoolStrategy = Literal["round_robin", "latency_aware", "weighted_random"]
ModelKind = Literal["llm", "embedding", "reranker"]


class ApiKeyEntry(_Model):
    """One of a provider's keys (``apiKeys[]``); ``key`` may be a ``${VAR}`` reference.

    The original tool also wrote health fields into each entry (``healthStatus``,
    ``lastError``...); they are kept as written, and ccw keeps its own in its state dir.
    """

    id: str = Field(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)
    key: str = Field(default="", repr=False)
    label: str | None = None
    weight: int | float | None = Field(default=None, gt=0, le=1_000_000)
    enabled: bool = True


class HealthCheck(_Model):
    """Background checks of each key (``ccw serve``) and when a failing key is set aside."""

    enabled: bool = False
    interval_seconds: int = Field(default=300, ge=5, le=86_400)
    cooldown_seconds: int = Field(default=5, ge=0, le=86_400)
    failure_threshold: int = Field(default=3, ge=1, le=100)


class AdvancedSettings(_Model):
    """The original tool's per-provider call settings. Where ccw's own top-level fields
    (timeout, maxRetries, organization, apiVersion, customHeaders) are set too, those win."""

    timeout: float | None = Field(default=None, gt=0, le=3600)
    max_retries: int | None = Field(default=None, ge=0, le=10)
    organization: str | None = None
    api_version: str | None = None
    custom_headers: dict[str, str] | None = Field(default=None, repr=False)
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    proxy: str | None = None

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://", "socks5://")):
            raise ValueError("must start with http://, https:// or socks5://")
        return value or None


class ModelCapabilities(_Model):
    streaming: bool | None = None
    function_calling: bool | None = None
    vision: bool | None = None
    context_window: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)
    embedding_dimension: int | None = Field(default=None, ge=1)


class ModelEndpointSettings(_Model):
    """Per-model overrides of the provider's base URL, timeout, retries and headers."""

    base_url: str | None = None
    timeout: float | None = Field(default=None, gt=0, le=3600)
    max_retries: int | None = Field(default=None, ge=0, le=10)
    custom_headers: dict[str, str] | None = Field(default=None, repr=False)
    cache_strategy: CacheStrategy | None = None

    @field_validator("base_url")
    @classmethod
    def _http_base(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value or None


class ModelDefinition(_Model):
    """A model a provider offers (``llmModels``, ``embeddingModels``, ``rerankerModels``)."""

    id: str = Field(min_length=1)
    name: str | None = None
    type: str | None = None
    series: str | None = None
    enabled: bool = True
    capabilities: ModelCapabilities | None = None
    endpoint_settings: ModelEndpointSettings | None = None
    description: str | None = None
    created_at: str | None = None
    updated_at: str | None = None

    def names(self) -> tuple[str, ...]:
        return (self.id, self.name) if self.name else (self.id,)


class PoolMember(_Model):
    """A provider a pool uses explicitly: all its enabled keys, or the ones named."""

    provider_id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    model_id: str | None = None  # the provider's name for the pool's model
    use_all_keys: bool = True
    selected_key_ids: list[str] | None = None
    weight: int | float | None = Field(default=None, gt=0, le=1_000_000)
    max_concurrent_per_key: int | None = Field(default=None, ge=1)
    enabled: bool = True


class ModelPool(_Model):
    """Several providers (and their keys) serving one model as one ``--model`` id."""

    id: str = Field(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)
    model_type: ModelKind = "llm"
    enabled: bool = True
    target_model: str = Field(min_length=1)
    strategy: PoolStrategy = "round_robin"
    auto_discover: bool = True
    excluded_provider_ids: list[str] | None = None
    default_cooldown: int = Field(default=60, ge=0, le=86_400)
    default_max_concurrent_per_key: int = Field(default=4, ge=1)
    providers: list[PoolMember] | None = None
    name: str | None = None
    description: str | None = None


class EmbeddingPoolConfig(_Model):
    """The original's single embedding pool (before ``modelPools``); ``ccw embed`` uses it
    when no ``--model`` is given."""

    enabled: bool = False
    target_model: str = ""
    strategy: PoolStrategy = "round_robin"
    auto_discover: bool = True
    excluded_provider_ids: list[str] | None = None
    default_cooldown: int = Field(default=60, ge=0, le=86_400)
    default_max_concurrent_per_key: int = Field(default=4, ge=1)


class Provider(_Model):
    id: str = Field(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)
    name: str = ""
    type: ProviderType
    api_key: str | None = Field(default=None, repr=False)  # may be a literal key
    api_base: str | None = None
    enabled: bool = True
    timeout: float | None = Field(default=None, gt=0, le=3600)
    max_retries: int | None = Field(default=None, ge=0, le=10)
    organization: str | None = None
    api_version: str | None = None
    custom_headers: dict[str, str] | None = Field(default=None, repr=False)
    advanced_settings: AdvancedSettings | None = Field(default=None, repr=False)
    api_keys: list[ApiKeyEntry] | None = Field(default=None, repr=False)
    routing_strategy: RoutingStrategy | None = None
    health_check: HealthCheck | None = None
    llm_models: list[ModelDefinition] | None = None
    embedding_models: list[ModelDefinition] | None = None
    reranker_models: list[ModelDefinition] | None = None
    created_at: str | None = None
    updated_at: str | None = None

    def enabled_keys(self) -> list[ApiKeyEntry]:
        """The ``apiKeys[]`` entries a call may use."""
        return [entry for entry in self.api_keys or () if entry.enabled and entry.key]

    @property
    def multi_key(self) -> bool:
        """Whether calls go through the router: the provider has enabled ``apiKeys``."""
        return bool(self.enabled_keys())

    def models_of(self, model_kind: str) -> list[ModelDefinition]:
        found = {
            "llm": self.llm_models,
            "embedding": self.embedding_models,
            "reranker": self.reranker_models,
        }.get(model_kind)
        return list(found or ())

    def model_definition(self, model: str, model_kind: str = "llm") -> ModelDefinition | None:
        """The ``llmModels`` (or other kind's) entry naming ``model`` by id or name."""
        return next((m for m in self.models_of(model_kind) if model in m.names()), None)

    def __repr_args__(self) -> Any:
        """Declared fields only: a kept unknown field (``apiKeys``, ``advancedSettings``) may
        hold keys, and so may ``apiKey`` and ``customHeaders`` (left out by ``repr=False``)."""
        extra = set(self.model_extra or ())
        return [(name, value) for name, value in super().__repr_args__() if name not in extra]

    @field_validator("api_base")
    @classmethod
    def _http_base(cls, value: str | None) -> str | None:
        if value is not None and value != "" and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value or None


class Endpoint(_Model):
    id: str = Field(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)
    name: str = ""
    provider_id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    model: str = Field(min_length=1)
    description: str | None = None
    cache_strategy: CacheStrategy = Field(default_factory=CacheStrategy)
    enabled: bool = True
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    # Seconds without a byte from the provider before a streaming call is cut (default 120).
    idle_timeout: float | None = Field(default=None, gt=0, le=3600)
    # Endpoint ids tried in order after a rate limit, server error, timeout or unreachable
    # provider, and for a pack too big for this endpoint's context window.
    fallbacks: list[str] | None = None
    budget: Budget | None = None  # this endpoint's spend (``ccw.exec.budget``)
    created_at: str | None = None
    updated_at: str | None = None


class ScopedBudget(Budget):
    """An entry of the top-level ``budgets`` list: the calls of one ``endpoint`` id, of one
    ``project`` (a folder; relative to the project the file belongs to, ``~`` expanded), of
    both, or, with neither, every call."""

    endpoint: str | None = Field(default=None, min_length=1, max_length=MAX_ID_CHARS)
    project: str | None = Field(default=None, min_length=1, max_length=MAX_PATH_CHARS)

    def folder(self, root: Path) -> Path | None:
        """``project`` as the folder calls record: ``~`` expanded, a relative path taken from
        ``root`` (the project the file belongs to), resolved. Environment variables are not
        expanded (see ``ccw.paths.expand_dir``)."""
        if self.project is None:
            return None
        path = Path(self.project).expanduser()
        return (path if path.is_absolute() else root / path).resolve()


class Config(_Model):
    version: int = 1
    providers: list[Provider] = Field(default_factory=list)
    endpoints: list[Endpoint] = Field(default_factory=list)
    default_endpoint: str | None = None
    global_cache_settings: GlobalCacheSettings = Field(default_factory=GlobalCacheSettings)
    local_model: LocalModelSettings | None = None
    # Environment variables that apiBase and header values may refer to, and that the API may
    # set as a key reference; edited only from the CLI (``ccw config allow-env NAME``).
    allowed_env_vars: list[Annotated[str, Field(pattern=ENV_NAME_PATTERN)]] | None = None
    model_pools: list[ModelPool] | None = None
    embedding_pool_config: EmbeddingPoolConfig | None = None
    # The deadline of a ``ccw cli --tool`` run that sets no ``--timeout`` (0: none);
    # ``CCW_TOOL_TIMEOUT`` overrides it.
    tool_timeout_seconds: float | None = Field(default=None, ge=0, le=7 * 86_400)
    # Budgets by endpoint and/or project, or of every call (``ccw.exec.budget``).
    budgets: list[ScopedBudget] | None = None

    def provider(self, provider_id: str) -> Provider | None:
        return next((p for p in self.providers if p.id == provider_id), None)

    def endpoint(self, endpoint_id: str) -> Endpoint | None:
        return next((e for e in self.endpoints if e.id == endpoint_id), None)

    def pool(self, pool_id: str) -> ModelPool | None:
        return next((p for p in self.model_pools or () if p.id == pool_id), None)

    @property
    def allowed_env(self) -> frozenset[str]:
        return frozenset(self.allowed_env_vars or ())

    @property
    def local(self) -> LocalModelSettings:
        return self.local_model or LocalModelSettings()

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        # The spec writes ``"defaultEndpoint": null``-free files, but keep the key visible
        # once it has been set so that hand edits see where it lives.
        if self.default_endpoint is None:
            data.pop("defaultEndpoint", None)
        return data
