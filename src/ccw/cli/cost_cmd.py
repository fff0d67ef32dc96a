"""``ccw cost``: what calls cost, from the history's ledger (and a LiteLLM proxy's spend).

The report itself is ``History.cost_report`` (``ccw.history.ledger``); the dashboard's
``GET /cost`` gives the same JSON as ``--json``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ccw.cli import units
from ccw.cli.common import info, print_json, store, warn
from ccw.history.ledger import DEFAULT_SINCE

if TYPE_CHECKING:
    from ccw.history.ledger import CostReport, Spend

SOURCES = ("local", "proxy", "all")


def register(app: typer.Typer) -> None:
    app.command("cost")(cost)


def cost(
    ctx: typer.Context,
    since: Annotated[
        str,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="From when: 24h, 7d, 2w, today, month, or a date (2026-11-01, local time).",
        ),
    ] = DEFAULT_SINCE,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            metavar="KEY",
            help="Group by endpoint, day, project or model; two with a comma: day,endpoint.",
        ),
    ] = None,
    this_project: Annotated[
        bool,
        typer.Option("--this-project", help="Only the calls made in this project."),
    ] = False,
    source: Annotated[
        str,
        typer.Option(
            "--source",
            help="local: this machine's history; proxy: the team's LiteLLM proxy; all: both.",
        ),
    ] = "local",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """What your calls cost: tokens new, read from and written to the provider's cache,
    the cost, the cached share and what the cache saved. Unpriced calls are counted apart,
    never as $0."""
    from ccw.errors import UsageError
    from ccw.history.ledger import parse_by, parse_since
    from ccw.paths import find_project_root

    if source not in SOURCES:
        raise UsageError(f"unknown --source {source!r}", "use local, proxy or all")
    now = datetime.now().astimezone()
    start = parse_since(since, now)
    dimensions = parse_by(by)
    if dimensions and source == "proxy":
        raise UsageError(
            "--by groups this machine's history; the proxy's spend comes in total",
            "drop --by, or use --source all",
        )
    project = str(find_project_root()) if this_project else None
    local = _local_report(start, dimensions, project) if source != "proxy" else None
    proxy = _proxy_spend(ctx, start, project) if source != "local" else None
    if as_json:
        data: dict[str, Any] = local.to_dict() if local is not None else _period(start, now)
        data["source"] = source
        if proxy is not None:
            data["proxy"] = proxy
        print_json(data)
        return
    if local is not None:
        _show(local)
    if proxy is not None:
        _show_proxy(proxy, start)


def _local_report(start: datetime, by: tuple[str, ...], project: str | None) -> CostReport:
    from ccw.history import open_history

    with open_history() as history:
        try:
            return history.cost_report(start, by=by, project=project)
        finally:
            for message in history.warnings:
                warn(message)


def _proxy_spend(ctx: typer.Context, start: datetime, project: str | None) -> dict[str, Any]:
    """The team's spend as the LiteLLM proxy of the config reports it."""
    from ccw.exec.proxy_spend import read_team_spend

    return read_team_spend(store(ctx).load(), start, project).to_dict()


def _period(start: datetime, now: datetime) -> dict[str, Any]:
    from ccw.history.schema import stamp

    return {"since": stamp(start), "until": stamp(now)}


def _show(report: CostReport) -> None:
    where = f"project {report.project}" if report.project else "every project"
    heading = f"since {_local(report.since)}, {where}"
    totals = report.totals
    if not totals.calls:
        print(f"No calls {heading}.")
        return
    if not report.by:
        from ccw.cli.tables import key_values

        key_values(_facts(totals), title=f"Spend {heading}")
        return
    _table(report, heading)
    info("total: " + _summary(totals))


def _facts(spend: Spend) -> list[tuple[str, str]]:
    failed = f" ({spend.failed_calls:,} failed)" if spend.failed_calls else ""
    facts = [
        ("calls", f"{spend.calls:,}{failed}"),
        (
            "input",
            f"{_n(spend.input_tokens)} tokens: {_n(spend.cache_read_tokens)} cached, "
            f"{_n(spend.cache_write_tokens)} cache writes, "
            f"{_n(spend.uncached_tokens)} new",
        ),
        ("output", f"{_n(spend.output_tokens)} tokens"),
        ("cost", money(spend.cost, "unpriced")),
    ]
    if spend.unpriced_calls:
        facts.append(
            (
                "unpriced",
                units.count(spend.unpriced_calls, "call") + " of unpriced models, not in the cost",
            )
        )
    facts.append(("cached share", share(spend.cached_share) + " of input read from the cache"))
    if spend.saved is not None:
        facts.append(("saved", f"{money(spend.saved)} by the provider's prompt cache"))
    return facts


def _summary(spend: Spend) -> str:
    parts = [units.count(spend.calls, "call"), money(spend.cost, "unpriced")]
    if spend.saved is not None:
        parts.append(f"saved {money(spend.saved)}")
    parts.append(f"{share(spend.cached_share)} cached")
    if spend.unpriced_calls:
        parts.append(units.count(spend.unpriced_calls, "unpriced call") + " not in the cost")
    return " · ".join(parts)


def _table(report: CostReport, heading: str) -> None:
    from ccw.cli.tables import table

    unpriced = any(group.spend.unpriced_calls for group in report.groups)
    # new, cached, writes: input tokens billed plain, read from and written to the cache.
    headers = [*report.by, "calls", "new", "cached", "writes", "out", "cost", "saved", "cache%"]
    headers += ["unpriced"] if unpriced else []
    rows = []
    for group in report.groups:
        spend = group.spend
        row = [_key(name, group.key[name]) for name in report.by]
        row += [
            f"{spend.calls:,}",
            _n(spend.uncached_tokens),
            _n(spend.cache_read_tokens),
            _n(spend.cache_write_tokens),
            _n(spend.output_tokens),
            money(spend.cost, "unpriced" if spend.unpriced_calls else "-"),
            money(spend.saved, "-"),
            share(spend.cached_share),
        ]
        if unpriced:
            row.append(f"{spend.unpriced_calls:,}" if spend.unpriced_calls else "-")
        rows.append(row)
    title = f"Spend by {' and '.join(report.by)} {heading}"
    table(title, headers, rows, wrap={"project", "model"})


def _key(name: str, value: str | None) -> str:
    if value is not None:
        return value
    return {"endpoint": "(no endpoint)", "project": "(no project)"}.get(name, "-")


def _show_proxy(spend: dict[str, Any], start: datetime) -> None:
    from ccw.cli.tables import flatten, key_values

    key_values(flatten(spend), title=f"Spend on the LiteLLM proxy since {_local(start)}")


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def money(value: float | None, unknown: str = "-") -> str:
    """``$12.34``, ``$0.0492``, ``$0.000041``, ``-$0.02`` (a cache write that cost more than
    it saved); ``$0`` for free; ``unknown`` when unpriced."""
    if value is None:
        return unknown
    if value == 0:
        return "$0"
    sign, size = ("-" if value < 0 else ""), abs(value)
    if size >= 1:
        return f"{sign}${size:,.2f}"
    whole, cents = f"{size:.{4 if size >= 0.01 else 6}f}".split(".")
    cents = cents.rstrip("0").ljust(2, "0")
    if whole == "0" and not cents.strip("0"):
        return f"{sign}<$0.000001"
    return f"{sign}${whole}.{cents}"


def _n(count: int) -> str:
    return f"{count:,}"


def share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"
