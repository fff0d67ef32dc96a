"""The effective config: the file's providers and endpoints plus the built-in local model.

A fresh project can call ``--model local`` with no setup: the built-in ``local`` provider and
endpoint exist in the effective config without being written to the file (a command that
edits them writes them out). ``effective_config`` is pure; ``find_provider`` and
``find_endpoint`` are the one lookup the CLI, the server and a call use, so an id that one of
them knows, every one of them knows.
"""

from __future__ import annotations

import difflib

from ccw.config.provenance import provenance_of
from ccw.config.providers import kind
from ccw.config.schema import Config, Endpoint, Provider
from ccw.errors import NotFoundError

LOCAL_ID = "local"


def builtin_local_provider() -> Provider:
    return Provider(id=LOCAL_ID, name="Embedded SmolLM2-135M", type="local", enabled=True)


def builtin_local_endpoint(provider_id: str = LOCAL_ID) -> Endpoint:
    return Endpoint(
        id=LOCAL_ID,
        name="Embedded local model",
        provider_id=provider_id,
        model="smollm2-135m",
        description="SmolLM2-135M on llama.cpp, on 127.0.0.1; no key, no internet",
        max_tokens=128,
        temperature=0,  # a 135M model rambles when sampled; greedy answers are steadier
    )


def _embedded_provider(providers: list[Provider]) -> Provider | None:
    """The provider the built-in endpoint uses: the first one named ``local`` or embedded."""
    return next((p for p in providers if p.id == LOCAL_ID or kind(p.type).embedded), None)


def effective_config(config: Config) -> Config:
    """``config`` with the built-in local provider and endpoint where the file has none.

    Never changes its argument. A config that needs nothing added is returned as it is, so
    that the effective config of an effective config is itself.
    """
    providers = list(config.providers)
    endpoints = list(config.endpoints)
    local = _embedded_provider(providers)
    if local is None:
        local = builtin_local_provider()
        providers.append(local)
    if config.endpoint(LOCAL_ID) is None:
        endpoints.append(builtin_local_endpoint(local.id))
    if len(providers) == len(config.providers) and len(endpoints) == len(config.endpoints):
        return config
    return config.model_copy(update={"providers": providers, "endpoints": endpoints})


def _suggest(wanted: str, known: list[str]) -> str | None:
    near = difflib.get_close_matches(wanted, known, n=3, cutoff=0.5)
    if near:
        return "did you mean " + ", ".join(near) + "?"
    if known:
        return "known ids: " + ", ".join(sorted(known)[:10])
    return None


def _files_read(config: Config, kind_name: str) -> str:
    """`` (read user /a.json (ids: x); project /b.json (no file))`` when known."""
    provenance = provenance_of(config)
    return f" ({provenance.describe(kind_name)})" if provenance else ""


def provider_not_found(config: Config, provider_id: str) -> NotFoundError:
    hint = _suggest(provider_id, [p.id for p in config.providers])
    return NotFoundError(
        f"provider not found: {provider_id}{_files_read(config, 'provider')}",
        hint or "add one with: ccw provider add --type ...",
    )


def endpoint_not_found(config: Config, endpoint_id: str) -> NotFoundError:
    hint = _suggest(endpoint_id, [e.id for e in config.endpoints])
    return NotFoundError(
        f"endpoint not found: {endpoint_id}{_files_read(config, 'endpoint')}",
        hint or "add one with: ccw endpoint add ...",
    )


def find_provider(config: Config, provider_id: str) -> Provider:
    """A provider of the effective config; ``NotFoundError`` (with near ids) otherwise."""
    effective = effective_config(config)
    found = effective.provider(provider_id)
    if found is None:
        raise provider_not_found(effective, provider_id)
    return found


def find_endpoint(config: Config, endpoint_id: str) -> Endpoint:
    """An endpoint of the effective config; ``NotFoundError`` (with near ids) otherwise."""
    effective = effective_config(config)
    found = effective.endpoint(endpoint_id)
    if found is None:
        raise endpoint_not_found(effective, endpoint_id)
    return found
