"""Request bodies and ids: the OpenAPI document and the first check of what a client sends.

Field names and limits mirror ``ccw.config.schema``; the library validates again when it
saves, so anything these models let through is still checked before it reaches the file.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ccw.config.schema import MAX_ID_CHARS, ProviderType
from ccw.errors import UsageError

ENDPOINT_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
# Ids are names a person types; the config schema holds them to the same length.
# Upper bounds keep derived numbers (bytes, expiry times) finite and within SQLite's integers.
MAX_TIMEOUT_S = 3600
MAX_TTL_MINUTES = 10 * 365 * 24 * 60
MAX_SIZE_KB = 1024 * 1024 * 1024
MAX_TOKENS = 10_000_000
MAX_CACHE_MB = 1024 * 1024


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    def given(self) -> dict[str, Any]:
        """The fields the client sent, camelCase, ``null`` kept (it clears a field)."""
        return self.model_dump(by_alias=True, exclude_unset=True)

    def present(self) -> dict[str, Any]:
        """The fields the client sent with a value, camelCase."""
        return self.model_dump(by_alias=True, exclude_unset=True, exclude_none=True)


ScopeName = Literal["user", "project"]
SCOPE_HELP = (
    "Which config file to write: 'user' (every repository) or 'project' (this project's "
    ".ccw/). Default: the project's file when the project has a .ccw/ folder, else the "
    "user's; an existing entry is changed where it is defined. Also accepted as ?scope=."
)


class _Scoped(_Body):
    scope: ScopeName | None = Field(default=None, description=SCOPE_HELP)

    def given(self) -> dict[str, Any]:
        data = super().given()
        data.pop("scope", None)
        return data

    def present(self) -> dict[str, Any]:
        data = super().present()
        data.pop("scope", None)
        return data


def chosen_scope(query: str | None, body: _Scoped | None) -> str | None:
    """The scope of ``?scope=`` or the body's ``scope``; both given must agree."""
    sent = body.scope if body is not None else None
    if query is not None and sent is not None and query != sent:
        raise UsageError(
            f"?scope={query} and the body's scope {sent!r} disagree", "send one of them"
        )
    return query or sent


class ProviderUpdate(_Scoped):
    name: str | None = None
    type: ProviderType | None = None
    api_key: str | None = Field(
        default=None,
        description="A ${VAR} reference or a literal key. Sending the masked value keeps the key.",
    )
    api_base: str | None = Field(
        default=None, pattern=r"^(https?://|$)", examples=["http://127.0.0.1:8080/v1"]
    )
    enabled: bool | None = None
    timeout: float | None = Field(default=None, gt=0, le=MAX_TIMEOUT_S, allow_inf_nan=False)
    max_retries: int | None = Field(default=None, ge=0, le=10)
    organization: str | None = None
    api_version: str | None = None
    custom_headers: dict[str, str] | None = None


class ProviderCreate(ProviderUpdate):
    id: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_ID_CHARS,
        pattern=ENDPOINT_ID,
        description="Generated when left out.",
    )
    type: ProviderType


class CacheStrategyBody(_Body):
    enabled: bool | None = None
    ttl_minutes: int | None = Field(default=None, ge=0, le=MAX_TTL_MINUTES)
    max_size_kb: int | None = Field(default=None, ge=1, le=MAX_SIZE_KB, alias="maxSizeKB")
    file_patterns: list[str] | None = None


class EndpointUpdate(_Scoped):
    name: str | None = None
    provider_id: str | None = Field(default=None, min_length=1, max_length=MAX_ID_CHARS)
    model: str | None = Field(default=None, min_length=1)
    description: str | None = None
    cache_strategy: CacheStrategyBody | None = None
    enabled: bool | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS)
    temperature: float | None = Field(default=None, ge=0, le=2, allow_inf_nan=False)
    idle_timeout: float | None = Field(
        default=None,
        gt=0,
        le=3600,
        allow_inf_nan=False,
        description="Seconds without a byte from the provider before a call is cut (120).",
    )


class EndpointCreate(EndpointUpdate):
    id: str = Field(
        min_length=1, max_length=MAX_ID_CHARS, pattern=ENDPOINT_ID, examples=["my-gpt4o"]
    )
    provider_id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    model: str = Field(min_length=1)


class CacheSettingsUpdate(_Body):
    enabled: bool | None = None
    cache_dir: str | None = Field(
        default=None,
        min_length=1,
        description="A folder: absolute, ~/... or relative to the project; no $ expansion.",
    )
    max_total_size_mb: float | None = Field(
        default=None, gt=0, le=MAX_CACHE_MB, allow_inf_nan=False, alias="maxTotalSizeMB"
    )


class DefaultEndpointBody(_Scoped):
    endpoint_id: str | None = Field(
        max_length=MAX_ID_CHARS, description="An endpoint id, or null to clear the default."
    )


class CacheClearBody(_Body):
    expired_only: bool = False


class FieldError(BaseModel):
    loc: list[str]
    msg: str


class ErrorBody(BaseModel):
    """Every error the server answers: what went wrong and, when known, how to fix it."""

    error: str
    fix: str | None
    fields: list[FieldError] | None = Field(
        default=None, description="Which fields were invalid (422 only)."
    )


# Path parameters that name something in the config follow its id rule; the others (cache
# entry and history ids) take any printable text. All are at most MAX_ID_CHARS characters.
CONFIG_ID_PARAMS = frozenset({"provider_id", "endpoint_id", "provider_type"})
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"


def path_id_pattern(name: str) -> str:
    return ENDPOINT_ID if name in CONFIG_ID_PARAMS else PRINTABLE


async def check_path_ids(request: Request) -> None:
    """Refuses an id in the path that no config, cache or history could hold (400).

    Async, as ``state`` is: a plain dependency would cost two thread hops per request."""
    for name, value in request.path_params.items():
        if len(value) > MAX_ID_CHARS:
            raise UsageError(
                f"{name} is {len(value)} characters long (at most {MAX_ID_CHARS})",
                "send the id as listed by the API",
            )
        if not re.match(path_id_pattern(name), value):
            raise UsageError(
                f"{name} {value!r} has characters no id has",
                "ids are letters, digits and . _ : - (starting with a letter or digit)"
                if name in CONFIG_ID_PARAMS
                else "send the id as listed by the API",
            )
