"""The context cache's public surface: a prompt with ``@patterns`` in, a packed context out.

``build_context`` parses the patterns, reuses a stored pack when a stat-only check shows
nothing changed, and otherwise selects, reads (only files that changed), checks, packs and
stores. The CLI (``ccw pack``, ``ccw cli``) and the HTTP server call these functions; the
cache commands and the dashboard use ``open_cache``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ccw.context.build import build
from ccw.context.options import SEPARATOR, PackOptions
from ccw.context.parse import Pattern, has_patterns
from ccw.context.request import ByteSink, ContextRequest, ContextResult, ProgressCallback
from ccw.context.settings import CacheSettings
from ccw.context.store import CacheStore

if TYPE_CHECKING:
    from ccw.config.schema import Config, Endpoint

__all__ = [
    "SEPARATOR",
    "ContextRequest",
    "ContextResult",
    "PackOptions",
    "build_context",
    "context_request",
    "has_patterns",
    "open_cache",
    "stream_context",
]


def build_context(request: ContextRequest) -> ContextResult:
    """Pack the files the prompt's patterns name; ``result.pack`` holds the text."""
    out = io.BytesIO()
    result = build(request, out)
    result.pack = out.getvalue().decode("utf-8", "replace")
    return result


def stream_context(request: ContextRequest, out: ByteSink) -> ContextResult:
    """Like ``build_context`` but the pack is written to ``out`` as it is made (low memory);
    ``result.pack`` stays empty."""
    return build(request, out)


def open_cache(config: Config, project_root: Path) -> CacheStore:
    """The cache store of ``globalCacheSettings``."""
    from ccw.paths import expand_dir

    settings = config.global_cache_settings
    return CacheStore(
        expand_dir(settings.cache_dir, project_root),
        int(settings.max_total_size_mb * 1024 * 1024),
        enabled=settings.enabled,
    )


def context_request(
    prompt: str,
    root: Path,
    config: Config | CacheSettings,
    project_root: Path,
    endpoint: Endpoint | None = None,
    options: PackOptions | None = None,
    *,
    patterns: Sequence[Pattern] | None = None,
    on_progress: ProgressCallback | None = None,
) -> ContextRequest:
    """A request with the limits, TTL and cache settings of ``config`` (or just its cache
    settings) and ``endpoint``, packed as ``options`` say; ``patterns`` are taken as typed
    instead of from the prompt, ``on_progress`` hears how far packing is."""
    from ccw.paths import expand_dir

    options = options or PackOptions()
    settings = config if isinstance(config, CacheSettings) else CacheSettings.of(config)
    strategy = endpoint.cache_strategy if endpoint is not None else None
    use_cache = options.use_cache and settings.enabled and (strategy is None or strategy.enabled)
    excluded = options.exclude_dirs
    request = ContextRequest(
        prompt=prompt,
        root=root,
        include_dirs=options.include_dirs,
        exclude_dirs=settings.exclude_dirs if excluded is None else excluded,
        patterns=patterns,
        cache_dir=expand_dir(settings.cache_dir, project_root) if use_cache else None,
        max_cache_bytes=int(settings.max_total_size_mb * 1024 * 1024),
        use_cache=use_cache,
        fmt=options.fmt,
        on_overflow=options.on_overflow,
        allow_secrets=options.allow_secrets,
        allow_empty=options.allow_empty,
        project_root=project_root,
        tokens=options.tokens,
        on_progress=on_progress,
    )
    if strategy is not None and endpoint is not None:
        request.ttl_minutes = strategy.ttl_minutes
        request.max_total_bytes = strategy.max_size_kb * 1024
        request.file_patterns = list(strategy.file_patterns)
        request.model = endpoint.model
    if options.max_total_bytes is not None:
        request.max_total_bytes = options.max_total_bytes
    if options.max_files is not None:
        request.max_files = options.max_files
    return request
