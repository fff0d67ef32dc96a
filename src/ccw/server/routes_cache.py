"""The context cache the CLI fills: stats, entries, delete one, clear."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends

from ccw.errors import NotFoundError
from ccw.server.bodies import CacheClearBody
from ccw.server.state import ServerState, state

router = APIRouter(tags=["cache"])


def _missing(entry_id: str) -> NotFoundError:
    return NotFoundError(f"cache entry not found: {entry_id}", "list them with GET /cache/entries")


@router.get("/cache/stats")
def cache_stats(s: ServerState = Depends(state)) -> dict[str, Any]:
    """ccw's counters, and the same sizes under the names the original page reads
    (``totalSize``, ``maxSize`` in bytes)."""
    stats: dict[str, Any] = s.cache_stats()
    return {**stats, "totalSize": stats["totalBytes"], "maxSize": stats["maxBytes"]}


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
