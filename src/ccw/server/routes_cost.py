"""What calls cost: the history's ledger, as ``ccw cost --json`` gives it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query

from ccw.history.ledger import DEFAULT_SINCE, CostReport, parse_by, parse_since
from ccw.server.state import ServerState, state

router = APIRouter(tags=["cost"])


@router.get("/cost")
def cost(
    since: str = Query(
        default=DEFAULT_SINCE,
        max_length=64,
        description="From when: 24h, 7d, 2w, today, month, or a date (2026-11-01, local time).",
    ),
    by: str | None = Query(
        default=None,
        max_length=64,
        description="endpoint, day, project or model; two with a comma: day,endpoint.",
    ),
    this_project: bool = Query(
        default=False,
        alias="thisProject",
        description="Only the calls of the server's project (default: every project).",
    ),
    s: ServerState = Depends(state),
) -> dict[str, Any]:
    """Calls, tokens (new, read from and written to the provider's cache, output), cost,
    cached share and savings since a time, in total and grouped. An unpriced call is
    counted in ``unpricedCalls``, never as $0; a group of unpriced calls alone has
    ``cost: null``."""
    start = parse_since(since, datetime.now().astimezone())
    dimensions = parse_by(by)
    project = str(s.project_root) if this_project else None
    with s.open_history() as history:
        report: CostReport = history.cost_report(start, by=dimensions, project=project)
    return report.to_dict()
