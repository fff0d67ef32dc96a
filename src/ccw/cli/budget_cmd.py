"""``ccw budget``: the budgets set, what each has spent today and this month, and edits."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ccw.cli import scope
from ccw.cli.common import info, print_json, store, success, table
from ccw.cli.scope import GlobalOpt, ProjectOpt

if TYPE_CHECKING:
    from ccw.config.budget_edit import Target
    from ccw.exec.budget import Standing

HELP = """Budgets: USD caps on what calls cost per day and per month (local time).

A call whose estimated input cost would take a budget past its cap is refused before
anything is sent (exit 17); past warnAt (a share of the cap, 0.8 by default) a call warns.
A budget covers one endpoint (--endpoint), one project (--for-project), both, or every
call (--total). Every config file read counts: a project's file adds budgets, it never
lifts one your user file sets. The spend is the sum of the known costs in the history;
a model without a price cannot be checked (a warning, no refusal). One call: ccw cli
--max-cost USD."""

app = typer.Typer(help=HELP, invoke_without_command=True, rich_markup_mode=None)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
EndpointOpt = Annotated[
    str | None, typer.Option("--endpoint", metavar="ID", help="The calls on this endpoint.")
]
ForProjectOpt = Annotated[
    Path | None,
    typer.Option(
        "--for-project",
        metavar="DIR",
        help="The calls made in this project (the folder holding .ccw/ or .git around DIR).",
    ),
]
TotalOpt = Annotated[bool, typer.Option("--total", help="Every call.")]


@app.callback(invoke_without_command=True)
def show(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Each budget: spent today / this month, its cap, what is left, and the file holding it."""
    if ctx.invoked_subcommand:
        return
    from ccw.exec import budget

    rows = _grouped(budget.standings(budget.configured(store(ctx).load())))
    if as_json:
        print_json({"budgets": rows})
        return
    if not rows:
        info("no budgets set; e.g. ccw budget set --endpoint ID --daily 5 --monthly 50")
        return
    lines = [
        [
            row["name"],
            period,
            budget.usd(row[period]["spentUsd"]),
            budget.usd(row[period]["capUsd"]),
            budget.usd(row[period]["remainingUsd"]),
            f"{row['warnAt']:.0%}",
            f"{row['scope'] or 'config'} {row['file'] or ''} ({row['field']})",
        ]
        for row in rows
        for period in budget.PERIODS
        if row[period] is not None
    ]
    table(
        "Budgets (today and this month, local time)",
        ["budget", "period", "spent", "cap", "left", "warns at", "set in"],
        lines,
        wrap=("budget",),
    )


def _grouped(standings: list[Standing]) -> list[dict[str, Any]]:
    """One record per budget, its daily and monthly caps beside each other."""
    rows: dict[tuple[str | None, str], dict[str, Any]] = {}
    for standing in standings:
        item = standing.configured
        key = (str(item.file) if item.file else None, item.field)
        row = rows.setdefault(key, {**item.to_dict(), "daily": None, "monthly": None})
        row[standing.period] = {
            "capUsd": standing.cap,
            "spentUsd": round(standing.spent, 8),
            "remainingUsd": round(standing.remaining, 8),
        }
    return list(rows.values())


@app.command("set")
def set_(
    ctx: typer.Context,
    endpoint: EndpointOpt = None,
    for_project: ForProjectOpt = None,
    total: TotalOpt = False,
    daily: Annotated[
        float | None, typer.Option("--daily", metavar="USD", min=0, help="Cap per day.")
    ] = None,
    monthly: Annotated[
        float | None, typer.Option("--monthly", metavar="USD", min=0, help="Cap per month.")
    ] = None,
    warn_at: Annotated[
        float | None,
        typer.Option(
            "--warn-at",
            metavar="SHARE",
            max=1,
            help="Warn past this share of a cap, e.g. 0.8 (the default).",
        ),
    ] = None,
    global_: GlobalOpt = False,
    project: ProjectOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Set a budget's caps (the others it has stay as they are).

    Examples: ccw budget set --endpoint gpt --daily 5 --monthly 50;
    ccw budget set --for-project . --monthly 20; ccw budget set --total --daily 10.
    """
    from ccw.config.budget_edit import set_budget

    target = _target(endpoint, for_project, total)
    changes = {
        name: value
        for name, value in (("dailyUsd", daily), ("monthlyUsd", monthly), ("warnAt", warn_at))
        if value is not None
    }
    layered = store(ctx)
    place, budget = set_budget(layered, target, changes, scope.chosen(global_, project))
    where = layered.scope_of(place.store)
    field = place.field(target)
    if as_json:
        print_json(
            {
                "success": True,
                "budget": budget.to_json(),
                "field": field,
                "scope": where,
                "file": str(place.store.path),
            }
        )
        return
    from ccw.exec.budget import usd

    caps = [
        f"{label} {usd(cap)}"
        for label, cap in (("daily", budget.daily_usd), ("monthly", budget.monthly_usd))
        if cap is not None
    ]
    success(
        f"budget of {target.name}: {', '.join(caps)} (the {where} config {place.store.path}, "
        f"{field})"
    )


@app.command("remove")
def remove(
    ctx: typer.Context,
    endpoint: EndpointOpt = None,
    for_project: ForProjectOpt = None,
    total: TotalOpt = False,
    global_: GlobalOpt = False,
    project: ProjectOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Remove a budget (from the nearest file holding it, or the one --global/--project
    names)."""
    from ccw.config.budget_edit import remove_budget

    target = _target(endpoint, for_project, total)
    layered = store(ctx)
    place = remove_budget(layered, target, scope.chosen(global_, project))
    where = layered.scope_of(place.store)
    if as_json:
        print_json(
            {
                "success": True,
                "field": place.field(target),
                "scope": where,
                "file": str(place.store.path),
            }
        )
        return
    success(f"removed the budget of {target.name} from the {where} config {place.store.path}")


def _target(endpoint: str | None, for_project: Path | None, total: bool) -> Target:
    """The calls the flags name; a project folder is the project around it."""
    from ccw.config.budget_edit import Target
    from ccw.errors import UsageError
    from ccw.paths import find_project_root

    if total and (endpoint or for_project):
        raise UsageError(
            "--total covers every call: not with --endpoint or --for-project", "drop one"
        )
    if not (total or endpoint or for_project):
        raise UsageError(
            "name the calls the budget covers",
            "pass --endpoint ID, --for-project DIR (or both), or --total for every call",
        )
    root = None
    if for_project is not None:
        folder = for_project.expanduser().resolve()
        if not folder.is_dir():
            raise UsageError(f"--for-project {for_project} is not a folder")
        root = find_project_root(folder)
        if root != folder:
            info(f"the budget covers the project around it: {root}")
    return Target(endpoint, root)
