"""The context cache the CLI fills: stats, entries, delete one, clear."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Body, Depends, Request, Response

from ccw.errors import NotFoundError
from ccw.server.bodies import CacheClearBody
from ccw.server.encoded import encoded_response
from ccw.server.state import ServerState, state

router = APIRouter(tags=["cache"])


def _missing(entry_id: str) -> NotFoundError:
    return NotFoundError(f"cache entry not found: {entry_id}", "list them with GET /cache/entries")


def _stats(s: ServerState) -> dict[str, Any]:
    stats: dict[str, Any] = s.cache_stats()
    return {**stats, "totalSize": stats["totalBytes"], "maxSize": stats["maxBytes"]}


@router.get("/cache/stats")
async def cache_stats(request: Request) -> Response:
    """ccw's counters, and the same sizes under the names the original page reads
    (``totalSize``, ``maxSize`` in bytes). Encoded again only when the config or the cache
    database changes, or a second passes (``expired`` counts entries past their time)."""
    s: ServerState = request.app.state.ccw  # not Depends(state): a sync dependency is a thread hop
    config_stamp = s.config_stamp()
    database = _database_of(request, s, config_stamp)
    key = (config_stamp, s.cache_token(database), int(time.time()))
    return await encoded_response(request, "cache-stats", key, lambda: _stats(s), in_thread=True)


def _database_of(request: Request, s: ServerState, config_stamp: str) -> Path:
    """The cache database the config names, found again only when the config changes."""
    kept: tuple[str, Path] | None = getattr(request.app.state, "cache_database", None)
    if kept is None or kept[0] != config_stamp:
        kept = (config_stamp, Path(s.cache().path))
        request.app.state.cache_database = kept
    return kept[1]


@router.get("/cache/entries")
def cache_entries(s: ServerState = Depends(state)) -> dict[str, Any]:
    entries = s.cache().entries()
    return {"entries": entries, "count": len(entries)}


@router.get("/cache/entries/{entry_id}")
def cache_entry(entry_id: str, s: ServerState = Depends(state)) -> dict[str, Any]:
    entry: dict[str, Any] | None = s.cache().entry(entry_id)
    if entry is None:
        raise NotFoundError(
            f"cache entry not found: {entry_id}", "list them with GET /cache/entries"
        )
    return entry


@router.delete("/cache/entries/{entry_id}")
def delete_cache_entry(entry_id: str, s: ServerState = Depends(state)) -> dict[str, Any]:
    if not s.cache().delete(entry_id):
        raise NotFoundError(
            f"cache entry not found: {entry_id}", "list them with GET /cache/entries"
        )
    return {"success": True}


@router.post("/cache/clear")
def clear_cache(
    body: CacheClearBody | None = Body(default=None), s: ServerState = Depends(state)
) -> dict[str, Any]:
    """Remove entries, then the Gemini cached contents that held their packs. The original
    tool's ``{success, removed}``, plus ``remoteDeleted`` (their names) and ``warnings``
    (deletes that failed) when there are any."""
    from ccw.exec.gemini_cache import sweep

    config = s.config()
    removed = s.cache(config).clear(expired_only=bool(body and body.expired_only))
    swept = sweep(config, s.project_root)
    answer: dict[str, Any] = {"success": True, "removed": removed}
    if swept.deleted:
        answer["remoteDeleted"] = swept.deleted
    if swept.warnings:
        answer["warnings"] = swept.warnings
    return answer
