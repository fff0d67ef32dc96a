"""Gemini explicit context caching, tied to the pack's life in the local context cache.

The first call that sends a pack at least the model's minimum size (the provider registry's) to a
Gemini endpoint creates a cached content holding the pack (and the system prompt, which
Gemini does not accept beside a cached content), TTL the endpoint's
``cacheStrategy.ttlMinutes``, and keeps its name beside the pack (``gemini_store``). Later
calls with the same pack send only the question and ``cached_content=<name>``, after
extending its TTL; nothing ever lists the provider's cached contents. ``sweep`` deletes a
cached content once its pack has left the local cache (evicted, replaced by a changed pack,
``ccw cache clear``); it runs on every Gemini call and after a clear.

Below the minimum, with ``cacheStrategy.enabled: false``, without a stored pack, or on a
provider with several keys (a cached content belongs to the key that made it), the pack is
sent whole and Gemini's implicit caching applies; its hits are read from the usage as for
any call. Nothing here is allowed to fail a call: a request that fails is a warning and
the pack goes whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccw.exec import events
from ccw.exec.gemini_store import GeminiCacheStore, GeminiStoreUnavailable, Row, Slot
from ccw.result import Usage

if TYPE_CHECKING:
    from ccw.config.schema import Config
    from ccw.context.request import ContextResult
    from ccw.exec.executor import Messages, Request
    from ccw.exec.gemini_api import CachedContents
    from ccw.exec.target import CallTarget

EXPIRY_MARGIN_S = 10.0  # a name this close to its expiry is not relied on
HTTP_TIMEOUT_S = 30.0
SWEEP_TIMEOUT_S = 10.0  # a delete is not worth a long wait: the TTL ends it anyway


def minimum_tokens(model: str) -> int:
    """The smallest cached content ``model`` (with or without ``gemini/``) accepts: LiteLLM's
    bundled figure when it has one, else the provider registry's."""
    from ccw.exec.prompt_cache import minimum_tokens as registry_minimum

    bare = model.split("/", 1)[-1]
    return registry_minimum("gemini", f"gemini/{bare}") or 4096


@dataclass(frozen=True)
class Shaped:
    """A call reshaped around a cached content: what to send instead, and what it cost."""

    messages: Messages
    name: str
    write_tokens: int = 0  # tokens the create billed (0 when an existing one was reused)
    ttl: str = ""

    def kwargs(self) -> dict[str, Any]:
        return {"cached_content": self.name}

    def account(self, usage: Usage) -> Usage:
        """The call's usage with the create's tokens in it: billed as input once, at the
        write, on top of what the call itself read from the cache."""
        if not self.write_tokens or usage.prompt_tokens is None:
            return usage
        usage.prompt_tokens += self.write_tokens
        usage.cache_write_tokens = (usage.cache_write_tokens or 0) + self.write_tokens
        usage.cache_write_ttl = self.ttl
        return usage


@dataclass
class Swept:
    """What a sweep did: names deleted on the provider, and what it could not do."""

    deleted: list[str] = field(default_factory=list)
    forgotten: int = 0  # rows dropped without a request (already expired remotely)
    warnings: list[str] = field(default_factory=list)
    unreachable: set[str] = field(default_factory=set)  # providers not asked again


def cache_dir(config: Config, project_root: Path) -> Path:
    from ccw.paths import expand_dir

    return expand_dir(config.global_cache_settings.cache_dir, project_root)


def shape(
    target: CallTarget,
    messages: Messages,
    request: Request | None,
    project_root: Path | None,
    on_event: events.OnEvent = events.ignore,
    *,
    timeout: float | None = None,
    clock: Callable[[], float] = time.time,
) -> Shaped | None:
    """The call with its pack in a cached content, or None to send it as it is."""
    strategy = target.endpoint.cache_strategy
    if (
        request is None
        or project_root is None
        or target.provider_kind.name != "gemini"
        or target.config is None
        or (strategy is not None and (not strategy.enabled or strategy.ttl_minutes <= 0))
    ):
        return None
    config = target.config
    ctx = request.context
    live = {ctx.session_id} if ctx is not None and ctx.session_id else set()
    store = GeminiCacheStore(cache_dir(config, project_root))
    try:
        with store.held() if store.exists() else contextlib.nullcontext(store):
            swept = sweep(config, project_root, clock=clock, live=live, store=store)
            for warning in swept.warnings:
                on_event(events.Warning(warning))
            split = _split(messages, ctx)
            if split is None or target.routed or ctx is None or not ctx.session_id:
                return None
            rest, system = split
            if ctx.total_tokens + len(system) // 4 < minimum_tokens(target.model):
                return None
            from ccw.exec.gemini_api import CachedContents

            base = target.api_base or target.provider_kind.default_base or ""
            model = target.model.split("/", 1)[-1]
            slot = Slot(ctx.session_id, target.provider.id, _digest(base), model, _digest(system))
            api = CachedContents(
                base, target.api_key, dict(target.headers), target.proxies(),
                timeout or HTTP_TIMEOUT_S,
            )  # fmt: skip
            minutes = strategy.ttl_minutes if strategy is not None else 60
            with store.held():
                return _reuse_or_create(
                    api, store, slot, ctx, system, rest, minutes, clock, on_event
                )
    except GeminiStoreUnavailable as error:
        on_event(events.Warning(f"Gemini context cache not used: {error.message}"))
        return None
    finally:
        for warning in store.warnings:
            on_event(events.Warning(warning))


def _reuse_or_create(
    api: CachedContents,
    store: GeminiCacheStore,
    slot: Slot,
    ctx: ContextResult,
    system: str,
    rest: Messages,
    ttl_minutes: int,
    clock: Callable[[], float],
    on_event: events.OnEvent,
) -> Shaped | None:
    from ccw.exec.gemini_api import GeminiApiError

    ttl_s = ttl_minutes * 60
    found = store.find(slot)
    if found is not None and found.expires > clock() + EXPIRY_MARGIN_S:
        try:
            expires = api.extend(found.name, ttl_s)
        except GeminiApiError as error:
            if not error.gone:
                on_event(events.Warning(f"Gemini cached content not extended ({error.message})"))
                return None
            store.forget(found.name)
        else:
            store.save(found._replace(expires=expires))
            return Shaped(rest, found.name)
    elif found is not None:
        store.forget(found.name)
    try:
        created = api.create(slot.model, ctx.pack, system, ttl_s, f"ccw {slot.pack_key}")
    except GeminiApiError as error:
        if error.too_small:
            on_event(events.Status(f"the pack is below {slot.model}'s cached-content minimum"))
        else:
            on_event(events.Warning(f"Gemini cached content not created ({error.message})"))
        return None
    store.save(Row(slot, created.name, created.expires, created.tokens))
    return Shaped(rest, created.name, created.tokens, _ttl_text(ttl_minutes))


def _split(messages: Messages, ctx: ContextResult | None) -> tuple[Messages, str] | None:
    """The turns to send beside a cached content (the system turns and the pack left out)
    and the system prompt the cached content holds; None when the last turn is not the
    pack followed by the prompt."""
    from ccw.context.options import SEPARATOR

    if ctx is None or not ctx.pack or not messages:
        return None
    last = messages[-1]
    if last.get("role") != "user" or last.get("content") != ctx.pack + SEPARATOR + ctx.prompt:
        return None
    system: list[str] = []
    rest: Messages = []
    for turn in messages[:-1]:
        if turn.get("role") == "system":
            content = turn.get("content")
            if not isinstance(content, str):
                return None
            system.append(content)
        else:
            rest.append(turn)
    return [*rest, {"role": "user", "content": ctx.prompt}], "\n\n".join(system)


def sweep(
    config: Config,
    project_root: Path,
    *,
    clock: Callable[[], float] = time.time,
    live: set[str] | None = None,
    store: GeminiCacheStore | None = None,
) -> Swept:
    """Delete the cached contents whose pack is no longer in the local context cache, and
    forget those past their expiry (the provider has dropped them). A delete that fails is
    a warning; its name is kept for the next sweep until it expires.

    ``live`` names packs known to be in the local cache (the one a call is sending): when
    every other name has expired, the local cache is not read at all."""
    swept = Swept()
    given = store
    store = store or GeminiCacheStore(cache_dir(config, project_root))
    if not store.exists():
        return swept
    known = live or set()
    try:
        with store.held():
            now = clock()
            rows = store.rows()
            expired = [row for row in rows if row.expires <= now]
            for row in expired:
                store.forget(row.name)
            swept.forgotten = len(expired)
            unsure = [r for r in rows if r.expires > now and r.slot.pack_key not in known]
            present = _live_packs(config, project_root, swept) if unsure else set()
            for row in unsure:
                if present is not None and row.slot.pack_key not in present:
                    _delete(config, store, row, swept)
    except GeminiStoreUnavailable as error:
        swept.warnings.append(f"Gemini cached contents not swept: {error.message}")
    if store is not given:
        swept.warnings.extend(store.warnings)
    return swept


def _live_packs(config: Config, project_root: Path, swept: Swept) -> set[str] | None:
    from ccw.context.api import open_cache
    from ccw.context.store import CacheUnavailable

    cache = open_cache(config, project_root)
    try:
        return {entry["id"] for entry in cache.entries()}
    except CacheUnavailable as error:
        swept.warnings.append(f"Gemini cached contents not swept: {error.message}")
        return None
    finally:
        swept.warnings.extend(cache.warnings)


def _delete(config: Config, store: GeminiCacheStore, row: Row, swept: Swept) -> None:
    """Delete one name remotely. A provider that is gone or moved to another base is not
    asked (the name is forgotten); a missing key or no answer keeps the name for the next
    sweep, and one provider that did not answer is not asked again in this sweep."""
    from ccw.exec.gemini_api import GeminiApiError

    provider = row.slot.provider_id
    if provider in swept.unreachable:
        return
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(row.expires))
    try:
        api = _api_for(config, row)
    except _Later as problem:
        swept.unreachable.add(provider)
        swept.warnings.append(
            f"Gemini cached contents of provider {provider} not deleted ({problem}); "
            f"tried again at the next sweep, they expire by their TTL (this one at {when})"
        )
        return
    except ValueError as problem:
        store.forget(row.name)
        swept.warnings.append(
            f"Gemini cached content {row.name} not deleted ({problem}); it expires at {when}"
        )
        return
    try:
        api.delete(row.name)
    except GeminiApiError as error:
        if not error.gone:
            if error.status is None:
                swept.unreachable.add(provider)
            swept.warnings.append(
                f"Gemini cached content {row.name} not deleted ({error.message}); "
                f"tried again at the next sweep, it expires at {when}"
            )
            return
    store.forget(row.name)
    swept.deleted.append(row.name)


class _Later(ValueError):
    """The row's provider cannot be asked now (its key is missing), but may be later."""


def _api_for(config: Config, row: Row) -> CachedContents:
    """The cachedContents client of the row's provider, if it still sends its key to the
    base the row was made on (a key goes nowhere else)."""
    from ccw.config.effective import effective_config
    from ccw.config.providers import kind
    from ccw.errors import CcwError
    from ccw.exec.deployments import for_provider
    from ccw.exec.gemini_api import CachedContents

    provider = effective_config(config).provider(row.slot.provider_id)
    if provider is None or provider.type != "gemini":
        raise ValueError(f"provider {row.slot.provider_id} is no longer configured")
    try:
        first = for_provider(provider, row.slot.model, allowed=config.allowed_env)[0]
    except (CcwError, IndexError) as error:
        raise _Later(getattr(error, "message", None) or "no key to send") from None
    base = first.conn.api_base or kind(provider.type).default_base or ""
    if _digest(base) != row.slot.base_digest:
        raise ValueError(f"provider {provider.id} now sends its key to another apiBase")
    proxies = {base: first.conn.proxy} if first.conn.proxy else {}
    return CachedContents(base, first.api_key, dict(first.conn.headers), proxies, SWEEP_TIMEOUT_S)


def _digest(text: str) -> str:
    """A SHA-256 to tell values apart without keeping them ("" for none)."""
    return hashlib.sha256(text.encode()).hexdigest() if text else ""


def _ttl_text(minutes: int) -> str:
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"
