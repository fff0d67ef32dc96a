"""The Spend view, driven by Chromium: cost per day by endpoint as stacked bars whose heights
follow the ledger, the totals and cached share, unpriced calls shown as unpriced, the period
and project controls, and the empty state."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer
from tests.server.conftest import Dashboard
from tests.server.test_browser import CHROMIUM, browser_type_launch_args, fake, shot, ui  # noqa: F401
from tests.server.test_history_api import make_call

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed"),
]

if CHROMIUM.exists():
    from playwright.sync_api import Page, expect

# (days ago, endpoint, cost, cost uncached, project is this one)
CALLS: list[tuple[float, str, float | None, float | None, bool]] = [
    (0, "gpt", 0.30, 0.60, True),
    (0, "claude", 0.10, 0.10, True),
    (1, "gpt", 0.60, 0.90, True),
    (3, "local-x", None, None, True),
    (5, "claude", 0.15, 0.15, False),
    (45, "gpt", 5.00, 5.00, True),
]


def seed(data_dir: Path, project: Path, other: Path) -> None:
    from ccw.history import History
    from ccw.result import ExecutionResult, Usage

    now = datetime.now(UTC)
    moments = iter(now - timedelta(days=ago, seconds=1) for ago, *_ in CALLS)
    with History(data_dir / "history.db", clock=lambda: next(moments)) as history:
        for _, endpoint_id, cost, uncached, here in CALLS:
            result = ExecutionResult(
                success=True,
                model="m",
                endpoint_id=endpoint_id,
                usage=Usage(2000, 20, 1000, 0),
                cost=cost,
                cost_uncached=uncached,
            )
            cwd = project if here else other
            assert history.record(result, prompt="q", cwd=str(cwd)) is not None


@pytest.fixture
def seeded(dashboard: Dashboard, server_env: dict[str, str], tmp_path: Path) -> Dashboard:
    other = tmp_path / "other"
    (other / ".ccw").mkdir(parents=True)
    seed(Path(server_env["CCW_DATA_DIR"]), dashboard.project, other)
    return dashboard


def _bars(page: Page) -> list[dict[str, Any]]:
    """Each drawn segment: its day, endpoint, cost and height, and the plot's height."""
    found: list[dict[str, Any]] = page.eval_on_selector_all(
        "#spend-chart rect.seg",
        """rects => rects.map(r => ({
            day: r.parentNode.dataset.day,
            endpoint: r.dataset.endpoint,
            cost: Number(r.dataset.cost),
            height: r.height.baseVal.value,
        }))""",
    )
    return found


def _check_chart(page: Page, dashboard: Dashboard, since: str) -> dict[str, Any]:
    """The bars are the API's day-and-endpoint groups, each as tall as its share of the
    costliest day; returns the API's report."""
    report: dict[str, Any] = dashboard.api(
        "GET", "/cost", params={"since": since, "by": "day,endpoint"}
    ).json()
    priced = [g for g in report["groups"] if g["cost"]]
    bars = _bars(page)
    assert sorted((b["day"], b["endpoint"]) for b in bars) == sorted(
        (g["day"], g["endpoint"]) for g in priced
    )
    per_day: dict[str, float] = {}
    for group in priced:
        per_day[group["day"]] = per_day.get(group["day"], 0) + group["cost"]
    top = max(per_day.values())
    plot = 260 - 14 - 30  # the SVG's height less its top and bottom margins
    for bar in bars:
        group = next(
            g for g in priced if (g["day"], g["endpoint"]) == (bar["day"], bar["endpoint"])
        )
        assert bar["cost"] == pytest.approx(group["cost"])
        assert bar["height"] == pytest.approx(group["cost"] / top * plot, abs=0.01)
    tallest = max(
        sum(b["height"] for b in bars if b["day"] == day) for day in {b["day"] for b in bars}
    )
    assert tallest == pytest.approx(plot, abs=0.01)
    return report


def test_spend_draws_cost_per_day_by_endpoint(ui: Page, seeded: Dashboard) -> None:  # noqa: F811
    ui.get_by_role("tab", name="Spend").click()
    expect(ui.locator("#spend-chart rect.seg")).to_have_count(4)  # gpt, claude, gpt, claude
    report = _check_chart(ui, seeded, "30d")
    assert len({g["day"] for g in report["groups"]}) >= 4
    # Every day of the period has its slot, with or without calls.
    expect(ui.locator("#spend-chart g.day")).to_have_count(31, timeout=5_000)

    total = ui.locator("#spend-total")
    expect(total).to_contain_text("$1.15")  # 0.30 + 0.10 + 0.60 + 0.15: 45 days ago is out
    expect(total).to_contain_text("5 calls")
    expect(total).to_contain_text("1 unpriced call not counted")
    expect(ui.locator("#spend-share")).to_contain_text("50%")
    expect(ui.locator("#spend-saved")).to_contain_text("$0.60")

    # The unpriced call: a mark on its day, a badge on its endpoint, never $0.
    mark = ui.locator("#spend-chart .unpriced-mark")
    expect(mark).to_have_count(1)
    assert mark.get_attribute("data-unpriced") == "1"
    unpriced = ui.locator('.spend-row[data-endpoint="local-x"]')
    expect(unpriced).to_contain_text("unpriced")
    expect(unpriced.locator(".spend-cost")).to_have_text("unpriced")
    rows = ui.locator("#spend-endpoints .spend-row")
    expect(rows).to_have_count(3)
    assert [rows.nth(i).get_attribute("data-endpoint") for i in range(3)] == [
        "gpt",
        "claude",
        "local-x",
    ]
    expect(rows.nth(0).locator(".spend-cost")).to_have_text("$0.90")
    expect(ui.locator("#spend-legend .legend-item")).to_have_count(3)
    shot(ui, "20-spend")


def test_the_period_and_project_change_the_view(ui: Page, seeded: Dashboard) -> None:  # noqa: F811
    ui.get_by_role("tab", name="Spend").click()
    expect(ui.locator("#spend-chart rect.seg")).to_have_count(4)
    ui.locator("#spend-since").select_option("90d")
    expect(ui.locator("#spend-total")).to_contain_text("$6.15")
    expect(ui.locator("#spend-chart rect.seg")).to_have_count(5)
    _check_chart(ui, seeded, "90d")
    expect(ui.locator("#spend-chart g.day")).to_have_count(91)

    ui.locator("#spend-since").select_option("7d")
    ui.locator("#spend-project").check()
    expect(ui.locator("#spend-total")).to_contain_text("$1.00")  # claude 5 days ago: elsewhere
    expect(ui.locator("#spend-chart rect.seg")).to_have_count(3)
    assert sorted(b["endpoint"] for b in _bars(ui)) == ["claude", "gpt", "gpt"]


def test_a_real_call_appears_and_an_empty_history_says_so(
    ui: Page,  # noqa: F811
    dashboard: Dashboard,
    run_ccw: RunCcw,
    fake: ProviderServer,  # noqa: F811
) -> None:
    ui.get_by_role("tab", name="Spend").click()
    empty = ui.locator("#spend-empty")
    expect(empty).to_be_visible()
    expect(empty).to_have_text(re.compile(r"^No calls in the last 30 days\."))
    expect(ui.locator("#spend-view")).to_be_hidden()
    shot(ui, "21-spend-empty")

    make_call(dashboard, run_ccw, fake)  # the page polls the history and redraws
    expect(ui.locator("#spend-view")).to_be_visible(timeout=15_000)
    row = ui.locator('.spend-row[data-endpoint="quick"]')
    expect(row).to_contain_text("1 call")
    recorded = dashboard.api("GET", "/cost").json()["totals"]
    if recorded["cost"] is None:  # a model LiteLLM has no price for
        expect(row.locator(".spend-cost")).to_have_text("unpriced")
        expect(ui.locator("#spend-chart rect.seg")).to_have_count(0)
        expect(ui.locator("#spend-chart .unpriced-mark")).to_have_count(1)
    else:
        expect(ui.locator("#spend-chart rect.seg")).to_have_count(1)
