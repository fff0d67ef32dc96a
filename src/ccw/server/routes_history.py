"""Recent calls, read from the history the CLI writes."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from ccw.errors import NotFoundError
from ccw.server.state import ServerState, state

router = APIRouter(tags=["history"])


def _history(s: ServerState) -> Any:
    """A history handle for one request; its SQLite connection closes with the block."""
    return s.open_history()


@router.get("/history")
def list_history(
    limit: int = Query(default=50, ge=1, le=1000),
    tool: str | None = None,
    status: Literal["ok", "error"] | None = None,
    search: str | None = None,
    all_projects: bool = Query(default=False, alias="all"),
    s: ServerState = Depends(state),
) -> dict[str, Any]:
    """This project's calls (the server's config decides the project); ``?all=true`` lists
    every project's."""
    project = None if all_projects else str(s.project_root)
    with _history(s) as history:
        records = history.list(
            limit=limit, tool=tool, status=status, search=search, project=project
        )
    return {"history": records, "count": len(records), "project": project}


@router.get("/history/{record_id}")
def get_history(record_id: str, s: ServerState = Depends(state)) -> dict[str, Any]:
    with _history(s) as history:
        record: dict[str, Any] | None = history.get(record_id)
    if record is None:
        raise NotFoundError(f"history record not found: {record_id}", "list them with GET /history")
    return record
