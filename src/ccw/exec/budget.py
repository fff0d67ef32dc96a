"""Budgets: caps on what calls cost per day and per month, checked before a call is sent.

Where a budget is set (``ccw.config.schema.Budget``):

* an endpoint's ``budget``: the calls on that endpoint;
* ``globalCacheSettings.budget``: every call;
* an entry of the top-level ``budgets`` list: the calls of one ``endpoint``, of one
  ``project`` folder, of both, or (with neither) every call.

Every config file read counts, each budget on its own: a project's file can add budgets, it
never lifts one your user file sets. ``dailyUsd`` and ``monthlyUsd`` are hard caps: a call
whose estimated input cost (the ``--dry-run`` estimate) would take the spend of the day or the
month (local time) past one is refused with ``BudgetExceeded`` and nothing is sent.
``warnAt`` (a share of the cap, 0.8 by default) is where a call starts to warn.

The spend is the history's sum of known costs (``History.spent``). A call to an unpriced
model cannot be checked: it warns once and goes. The embedded local model costs $0 and is
never refused. Only the input is known before sending; the answer's cost counts once it is
recorded, so a call may end a little past a cap, and the next one is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ccw.config.schema import Budget, Config
from ccw.errors import BudgetExceeded, CcwError, UsageError
from ccw.exec import events
from ccw.exec.executor import as_one_prompt

if TYPE_CHECKING:
    from ccw.config.provenance import FileRead
    from ccw.exec.executor import Executor, Request

Period = Literal["daily", "monthly"]
PERIODS: tuple[Period, ...] = ("daily", "monthly")
FIELDS: dict[Period, str] = {"daily": "dailyUsd", "monthly": "monthlyUsd"}
FLAGS: dict[Period, str] = {"daily": "--daily", "monthly": "--monthly"}
WHEN: dict[Period, str] = {"daily": "today", "monthly": "this month"}
DEFAULT_WARN_AT = 0.8
SCOPE_FLAGS = {"user": " --global", "project": " --project"}


@dataclass(frozen=True)
class Configured:
    """One budget as a config file sets it, and the calls it covers."""

    budget: Budget
    endpoint_id: str | None  # None: calls on any endpoint
    project: Path | None  # a project root; None: calls of any project
    field: str  # where in the file: ``endpoints[gpt].budget``, ``budgets[0]``...
    scope: str = ""  # the file's layer: user, project or config ("" : not from a file)
    file: Path | None = None

    @property
    def name(self) -> str:
        """``endpoint gpt``, ``project /src/app``, ``endpoint gpt in project ...``, ``every
        call``."""
        parts = [f"endpoint {self.endpoint_id}"] if self.endpoint_id else []
        if self.project is not None:
            parts.append(f"project {self.project}")
        return " in ".join(parts) or "every call"

    @property
    def warn_at(self) -> float:
        return self.budget.warn_at or DEFAULT_WARN_AT

    def cap(self, period: Period) -> float | None:
        return self.budget.daily_usd if period == "daily" else self.budget.monthly_usd

    def covers(self, endpoint_id: str | None, project: Path) -> bool:
        return (self.endpoint_id is None or self.endpoint_id == endpoint_id) and (
            self.project is None or self.project == project
        )

    def set_command(self, period: Period) -> str:
        """The command that changes this cap."""
        target = [f"--endpoint {self.endpoint_id}"] if self.endpoint_id else []
        if self.project is not None:
            target.append(f"--for-project {self.project}")
        where = " ".join(target) or "--total"
        chosen = f"--config {self.file} " if self.scope == "config" else ""  # one file alone
        flags = f"{where} {FLAGS[period]} USD{SCOPE_FLAGS.get(self.scope, '')}"
        return f"ccw {chosen}budget set {flags}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "endpointId": self.endpoint_id,
            "project": str(self.project) if self.project else None,
            "field": self.field,
            "scope": self.scope or None,
            "file": str(self.file) if self.file else None,
            "warnAt": self.warn_at,
        }


@dataclass(frozen=True)
class Standing:
    """One cap of one budget now: what its period has spent so far."""

    configured: Configured
    period: Period
    cap: float
    spent: float

    @property
    def remaining(self) -> float:
        return max(0.0, self.cap - self.spent)

    def crossed_by(self, estimate: float) -> bool:
        """Whether a call estimated at ``estimate`` would take the spend past the cap (a
        free call crosses nothing)."""
        return estimate > 0 and self.spent + estimate > self.cap

    def warns_at(self, estimate: float) -> bool:
        return self.spent + estimate >= self.configured.warn_at * self.cap


# ---- where budgets are set ------------------------------------------------------------------


def configured(config: Config) -> list[Configured]:
    """Every budget of every config file ``config`` was read from (its provenance), in
    reading order; a config not read from files is taken as it is."""
    from ccw.config.provenance import provenance_of

    provenance = provenance_of(config)
    if provenance is None:
        return _of_file(config, "", None, Path.cwd())
    return [item for read in provenance.files if read.exists for item in _of_layer(read)]


# (scope, file) -> (the file's stamp, its budgets): a long-running server pays a stat per file
# and call, not a parse and a copy of the config.
_READ: dict[tuple[str, Path], tuple[tuple[int, int, int], tuple[Configured, ...]]] = {}
_READ_MAX = 64


def _of_layer(read: FileRead) -> tuple[Configured, ...]:
    from ccw.config.store import ConfigStore
    from ccw.paths import project_root_of

    try:
        st = read.path.stat()
    except OSError:  # gone since the config was read
        return ()
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    cached = _READ.get((read.scope, read.path))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    layer = ConfigStore(read.path).load()
    found = tuple(_of_file(layer, read.scope, read.path, project_root_of(read.path)))
    if len(_READ) >= _READ_MAX:
        _READ.clear()
    _READ[(read.scope, read.path)] = (stamp, found)
    return found


def _of_file(config: Config, scope: str, file: Path | None, root: Path) -> list[Configured]:
    found = [
        Configured(e.budget, e.id, None, f"endpoints[{e.id}].budget", scope, file)
        for e in config.endpoints
        if e.budget is not None
    ]
    total = config.global_cache_settings.budget
    if total is not None:
        found.append(Configured(total, None, None, "globalCacheSettings.budget", scope, file))
    for index, entry in enumerate(config.budgets or ()):
        project = entry.folder(root)
        found.append(Configured(entry, entry.endpoint, project, f"budgets[{index}]", scope, file))
    return found


# ---- what was spent -------------------------------------------------------------------------


def period_starts(now: datetime | None = None) -> dict[Period, datetime]:
    """The start of today and of this month, local time (aware)."""
    today = (now or datetime.now().astimezone()).astimezone().date()
    return {
        "daily": datetime.combine(today, time.min).astimezone(),
        "monthly": datetime.combine(date(today.year, today.month, 1), time.min).astimezone(),
    }


def standings(items: list[Configured], now: datetime | None = None) -> list[Standing]:
    """Each cap of each budget with its period's spend so far (one query per cap)."""
    if not items:
        return []
    from ccw.history import open_history

    starts = period_starts(now)
    found: list[Standing] = []
    with open_history() as history:
        for item in items:
            for period in PERIODS:
                cap = item.cap(period)
                if cap is None:
                    continue
                spent = history.spent(
                    starts[period],
                    endpoint_id=item.endpoint_id,
                    project=str(item.project) if item.project else None,
                )
                found.append(Standing(item, period, cap, spent))
    return found


def budget_view(config: Config, endpoint_id: str | None, cwd: Path) -> list[Standing]:
    """The caps a call on ``endpoint_id`` from ``cwd`` falls under, with what each has spent
    (what ``--dry-run`` can show beside its estimate: ``Standing.crossed_by(estimate)``)."""
    from ccw.paths import find_project_root

    project = find_project_root(cwd)
    return standings([c for c in configured(config) if c.covers(endpoint_id, project)])


# ---- before a call --------------------------------------------------------------------------


def input_estimate(runner: Executor, request: Request) -> float | None:
    """The call's input cost as ``--dry-run`` estimates it. ``None``: the model is unpriced."""
    return runner.estimate(as_one_prompt(request)).input_cost


def enforce(
    config: Config,
    runner: Executor,
    request: Request,
    *,
    cwd: Path,
    max_cost: float | None = None,
    tool: bool = False,
    on_event: events.OnEvent = events.ignore,
) -> None:
    """Refuse (``BudgetExceeded``) a LiteLLM call that would cross a budget's cap or cost
    more than ``max_cost``; warn past a budget's ``warnAt`` and when the model has no price.

    ``cwd`` is where the call runs: its project is the one the history records. A CLI
    ``tool`` run reports no price: budgets do not apply to it, and ``max_cost`` is refused.
    """
    if max_cost is not None and max_cost < 0:
        raise UsageError(f"--max-cost {max_cost:g} is negative", "pass a cost in USD, e.g. 0.05")
    if tool:
        if max_cost is not None:
            raise UsageError(
                f"--max-cost needs an endpoint: the {runner.name} CLI reports no price",
                "drop --max-cost, or call an endpoint: ccw cli --model ENDPOINT",
            )
        return
    from ccw.paths import find_project_root

    project = find_project_root(cwd)
    items = [c for c in configured(config) if c.covers(runner.endpoint_id, project)]
    if not items and max_cost is None:
        return
    estimate = 0.0 if _embedded(config, runner) else input_estimate(runner, request)
    if estimate is None:
        held = [f"--max-cost {max_cost:g}"] if max_cost is not None else []
        held += [f"the budget of {item.name}" for item in items]
        on_event(
            events.Warning(
                f"budget not enforced: model {runner.model} has no price, so "
                f"{_and(held)} cannot be checked"
            )
        )
        return
    if max_cost is not None and estimate > max_cost:
        raise BudgetExceeded(
            f"refused: this call's input is estimated at {usd(estimate)}, more than "
            f"--max-cost {usd(max_cost)}; nothing was sent",
            "raise --max-cost, or send less (ccw cli --dry-run lists the files a call packs)",
        )
    if estimate == 0:  # a free call crosses no cap and brings none closer
        return
    try:
        found = standings(items)
    except CcwError as exc:  # an unreadable history: the call is not held back by it
        on_event(events.Warning(f"budget not enforced: {exc.message}"))
        return
    check(found, estimate, on_event)


def check(found: list[Standing], estimate: float, on_event: events.OnEvent) -> None:
    """Refuse a call estimated at ``estimate`` that crosses one of the caps (the one with the
    least left is named); warn for each cap past its ``warnAt``."""
    crossed = sorted((s for s in found if s.crossed_by(estimate)), key=lambda s: s.remaining)
    if crossed:
        raise refusal(crossed[0], estimate, len(crossed) - 1)
    for standing in found:
        if standing.warns_at(estimate):
            on_event(events.Warning(warning(standing, estimate)))


def refusal(standing: Standing, estimate: float, others: int = 0) -> BudgetExceeded:
    item, period = standing.configured, standing.period
    where = f"{item.field} in {item.file}" if item.file else item.field
    more = f" (and {others} more budget{'s' if others > 1 else ''})" if others else ""
    return BudgetExceeded(
        f"refused by the {period} budget of {item.name}{more}: spent {usd(standing.spent)} "
        f"{WHEN[period]} of {usd(standing.cap)}, and this call's input is estimated at "
        f"{usd(estimate)}; nothing was sent (the budget is {where})",
        f"raise {FIELDS[period]} there, or run: {item.set_command(period)}",
    )


def warning(standing: Standing, estimate: float) -> str:
    item, period = standing.configured, standing.period
    share = (standing.spent + estimate) / standing.cap if standing.cap else 1.0
    percent = math.floor(share * 100 + 1e-9)  # 99.97% is not yet 100%
    return (
        f"budget: {percent}% of the {period} budget of {item.name} ({usd(standing.cap)}) "
        f"with this call: spent {usd(standing.spent)} {WHEN[period]}, this call "
        f"~{usd(estimate)}"
    )


def _embedded(config: Config, runner: Executor) -> bool:
    """The embedded local model: its calls cost $0."""
    from ccw.exec import router

    facts = router.endpoint_facts(router.Route(router.LITELLM, runner.endpoint_id), config)
    return facts is not None and facts.embedded and facts.endpoint_id == runner.endpoint_id


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def usd(value: float) -> str:
    """``$5``, ``$4.9977``, ``$0.000123``: enough digits to tell a cap from a spend."""
    if value == 0:
        return "$0"
    if float(value).is_integer():
        return f"${value:,.0f}"
    digits = 4 if abs(value) >= 0.01 else 6 if abs(value) >= 1e-6 else 9
    text = f"{value:,.{digits}f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"
