"""Budgets in process: the config's fields, which budgets a call falls under, the spend the
real SQLite history holds, and what ``execute`` does before sending (the mock executor
stands in for the provider and keeps every request it was sent)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ccw.config import manage
from ccw.config.budget_edit import Target, remove_budget, set_budget
from ccw.config.layers import LayeredConfig
from ccw.errors import ConfigError, ExitCode, NotFoundError, UsageError
from ccw.exec import budget, events
from ccw.exec.executor import Request
from ccw.exec.mock import MockExecutor
from ccw.exec.run import RunOptions, execute
from ccw.history import FILE_NAME as HISTORY_FILE
from ccw.history import History, open_history
from ccw.paths import CONFIG_RELATIVE, user_config_path
from ccw.result import ExecutionResult

pytestmark = pytest.mark.usefixtures("data_dir")


def write(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path


def project_file(project: Path, **data: Any) -> Path:
    return write(project / CONFIG_RELATIVE, {"version": 1, **data})


def user_file(**data: Any) -> Path:
    return write(user_config_path(), {"version": 1, **data})


def spend(
    cost: float | None,
    *,
    endpoint: str = "mock",
    cwd: Path,
    at: datetime | None = None,
    data_dir: Path,
) -> None:
    """A call recorded in the real history, as if it had cost ``cost``."""
    clock = (lambda: at) if at is not None else datetime.now
    with History(data_dir / HISTORY_FILE, clock=clock) as history:
        result = ExecutionResult(success=True, endpoint_id=endpoint, model="m", cost=cost)
        assert history.record(result, prompt="earlier", cwd=str(cwd)) is not None


def call(
    project: Path, mock: MockExecutor, **extra: Any
) -> tuple[ExecutionResult, list[events.Event]]:
    seen: list[events.Event] = []
    options = RunOptions(prompt="hello", cwd=project, **extra)
    return execute(options, seen.append, executor=mock), seen


def warnings(seen: list[events.Event]) -> list[str]:
    return [e.text for e in seen if isinstance(e, events.Warning)]


# ---- the config -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        (
            {"budgets": [{"endpoint": "gpt", "dailyUsd": -5}]},
            "budgets.0.dailyUsd",
            "greater than or equal to 0",
        ),
        ({"globalCacheSettings": {"budget": {"monthlyUsd": "50"}}}, "budget.monthlyUsd", "number"),
        ({"budgets": [{"dailyUsd": True}]}, "budgets.0.dailyUsd", "number"),
        ({"budgets": [{"project": ".", "warnAt": 0.5}]}, "budgets.0", "dailyUsd or monthlyUsd"),
        (
            {
                "providers": [{"id": "p", "type": "openai"}],
                "endpoints": [
                    {
                        "id": "e",
                        "providerId": "p",
                        "model": "m",
                        "budget": {"dailyUsd": 1, "warnAt": 2},
                    }
                ],
            },
            "endpoints.0.budget.warnAt",
            "less than or equal to 1",
        ),
    ],
)
def test_a_bad_budget_is_a_config_error_naming_the_field_and_the_file(
    project: Path, data: dict[str, Any], field: str, reason: str
) -> None:
    path = project_file(project, **data)
    with pytest.raises(ConfigError) as caught:
        LayeredConfig.open(None, project).load()
    assert str(path) in caught.value.message
    assert field in caught.value.message and reason in caught.value.message
    assert caught.value.exit_code == ExitCode.CONFIG


def test_budgets_and_their_unknown_fields_survive_an_edit_of_the_file(project: Path) -> None:
    path = project_file(
        project,
        providers=[{"id": "p", "type": "openai"}],
        endpoints=[{"id": "e", "providerId": "p", "model": "m", "budget": {"dailyUsd": 5}}],
        budgets=[{"project": ".", "monthlyUsd": 20, "note": "team cap"}],
    )
    manage.update_endpoint(LayeredConfig.open(None, project).project, "e", {"maxTokens": 9})
    saved = json.loads(path.read_text())
    assert saved["endpoints"][0]["budget"] == {"dailyUsd": 5}
    assert saved["budgets"] == [{"monthlyUsd": 20, "project": ".", "note": "team cap"}]


# ---- refusing and warning -------------------------------------------------------------------


def test_a_call_that_would_cross_a_daily_cap_is_refused_and_nothing_is_sent(
    project: Path, data_dir: Path
) -> None:
    path = project_file(project, budgets=[{"endpoint": "mock", "dailyUsd": 5}])
    spend(4.5, cwd=project, data_dir=data_dir)
    mock = MockExecutor(cost=0.6)
    result, _ = call(project, mock)
    assert mock.requests == []
    assert not result.success
    assert (result.error_kind, result.exit_code) == ("budget", ExitCode.BUDGET)
    message = result.error or ""
    assert "daily budget of endpoint mock" in message
    assert "spent $4.50 today of $5" in message and "$0.60" in message
    assert f"budgets[0] in {path}" in message
    assert result.fix == (
        "raise dailyUsd there, or run: ccw budget set --endpoint mock --daily USD --project"
    )
    refused = open_history().list(limit=1)[0]
    assert (refused["success"], refused["errorKind"]) == (False, "budget")


def test_a_call_within_the_cap_goes_and_only_this_periods_spend_counts(
    project: Path, data_dir: Path
) -> None:
    project_file(project, budgets=[{"endpoint": "mock", "dailyUsd": 5}])
    spend(4.5, cwd=project, data_dir=data_dir, at=datetime.now().astimezone() - timedelta(days=1))
    spend(4.5, endpoint="other", cwd=project, data_dir=data_dir)
    spend(None, cwd=project, data_dir=data_dir)  # unpriced: adds nothing
    mock = MockExecutor(cost=0.6)
    result, seen = call(project, mock)
    assert result.success and len(mock.requests) == 1
    assert warnings(seen) == []


def test_the_monthly_cap_counts_every_day_of_the_month(project: Path, data_dir: Path) -> None:
    project_file(project, budgets=[{"endpoint": "mock", "monthlyUsd": 10}])
    month_start = budget.period_starts()["monthly"]
    spend(9.8, cwd=project, data_dir=data_dir, at=month_start + timedelta(seconds=1))
    mock = MockExecutor(cost=0.6)
    result, _ = call(project, mock)
    assert mock.requests == [] and result.error_kind == "budget"
    assert "monthly budget of endpoint mock" in (result.error or "")
    assert "--monthly USD" in (result.fix or "")


def test_past_warn_at_the_call_goes_with_a_warning(project: Path, data_dir: Path) -> None:
    project_file(project, budgets=[{"endpoint": "mock", "dailyUsd": 5, "warnAt": 0.8}])
    spend(4.0, cwd=project, data_dir=data_dir)
    mock = MockExecutor(cost=0.1)
    result, seen = call(project, mock)
    assert result.success and len(mock.requests) == 1
    assert warnings(seen) == [
        "budget: 82% of the daily budget of endpoint mock ($5) with this call: "
        "spent $4 today, this call ~$0.10"
    ]


def test_an_unpriced_model_is_not_held_back_and_says_so_once(project: Path, data_dir: Path) -> None:
    project_file(
        project,
        budgets=[{"endpoint": "mock", "dailyUsd": 1}, {"dailyUsd": 1}],
    )
    spend(3.0, cwd=project, data_dir=data_dir)
    mock = MockExecutor(cost=None)
    result, seen = call(project, mock)
    assert result.success and len(mock.requests) == 1
    assert warnings(seen) == [
        "budget not enforced: model mock-model has no price, so the budget of endpoint mock "
        "and the budget of every call cannot be checked"
    ]


def test_a_free_call_is_never_refused(project: Path, data_dir: Path) -> None:
    project_file(project, budgets=[{"dailyUsd": 1}])
    spend(3.0, cwd=project, data_dir=data_dir)
    mock = MockExecutor(cost=0.0)
    result, seen = call(project, mock)
    assert result.success and len(mock.requests) == 1 and warnings(seen) == []


def test_the_embedded_local_model_costs_nothing_and_is_never_refused(
    project: Path, data_dir: Path
) -> None:
    project_file(project, budgets=[{"dailyUsd": 0}])
    spend(3.0, endpoint="local", cwd=project, data_dir=data_dir)
    config = LayeredConfig.open(None, project).load()
    seen: list[events.Event] = []
    runner = MockExecutor(endpoint_id="local", cost=None)  # unpriced, as the local model is
    budget.enforce(config, runner, Request(prompt="hi"), cwd=project, on_event=seen.append)
    assert seen == []


def test_a_user_budget_holds_whatever_the_project_file_sets(project: Path, data_dir: Path) -> None:
    user = user_file(globalCacheSettings={"budget": {"dailyUsd": 1}})
    project_file(project, globalCacheSettings={"budget": {"dailyUsd": 100}})
    spend(0.9, cwd=project, data_dir=data_dir)
    mock = MockExecutor(cost=0.2)
    result, _ = call(project, mock)
    assert mock.requests == []
    assert f"globalCacheSettings.budget in {user}" in (result.error or "")
    assert result.fix is not None and result.fix.endswith("--total --daily USD --global")


def test_a_budget_in_a_file_chosen_alone_names_it_in_its_fix(
    project: Path, tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = write(tmp_path / "team.json", {"version": 1, "budgets": [{"dailyUsd": 1}]})
    monkeypatch.setenv("CCW_CONFIG", str(chosen))
    spend(1.0, cwd=project, data_dir=data_dir)
    result, _ = call(project, MockExecutor(cost=0.1))
    assert result.fix == (
        f"raise dailyUsd there, or run: ccw --config {chosen} budget set --total --daily USD"
    )


def test_a_project_budget_counts_that_projects_calls_only(
    project: Path, tmp_path: Path, data_dir: Path
) -> None:
    other = tmp_path / "other"
    (other / ".git").mkdir(parents=True)
    project_file(project, budgets=[{"project": ".", "dailyUsd": 1}])
    spend(5.0, cwd=other, data_dir=data_dir)
    spend(0.5, cwd=project / ".ccw", data_dir=data_dir)  # a subfolder: the same project
    mock = MockExecutor(cost=0.2)
    assert call(project, mock)[0].success
    spend(0.4, cwd=project, data_dir=data_dir)
    result, _ = call(project, mock)
    assert len(mock.requests) == 1
    assert f"daily budget of project {project}" in (result.error or "")
    assert "--for-project" in (result.fix or "")


def test_max_cost_refuses_a_call_estimated_above_it(project: Path) -> None:
    mock = MockExecutor(cost=0.6)
    result, _ = call(project, mock, max_cost=0.5)
    assert mock.requests == [] and result.exit_code == ExitCode.BUDGET
    assert result.error == (
        "refused: this call's input is estimated at $0.60, more than --max-cost $0.50; "
        "nothing was sent"
    )
    assert call(project, mock, max_cost=0.6)[0].success


def test_max_cost_on_an_unpriced_model_warns(project: Path) -> None:
    mock = MockExecutor(cost=None)
    result, seen = call(project, mock, max_cost=0.01)
    assert result.success
    assert warnings(seen) == [
        "budget not enforced: model mock-model has no price, so --max-cost 0.01 cannot be checked"
    ]


def test_a_cli_tool_has_no_price_so_max_cost_is_a_usage_error(project: Path) -> None:
    project_file(project, budgets=[{"dailyUsd": 1}])
    config = LayeredConfig.open(None, project).load()
    runner = MockExecutor(name="gemini", endpoint_id=None)
    seen: list[events.Event] = []
    request = Request(prompt="hi")
    budget.enforce(config, runner, request, cwd=project, tool=True, on_event=seen.append)
    assert seen == []  # budgets cover endpoints: a tool's own spend is not in the ledger
    with pytest.raises(UsageError, match="--max-cost needs an endpoint"):
        budget.enforce(config, runner, request, cwd=project, tool=True, max_cost=1)


def test_earlier_turns_count_in_the_estimate() -> None:
    runner = MockExecutor(cost=None)
    prior = [{"role": "user", "content": "x" * 400}, {"role": "assistant", "content": "y" * 400}]
    sent: list[Request] = []

    class Counting(MockExecutor):
        def estimate(self, request: Request) -> Any:
            sent.append(request)
            return super().estimate(request)

    budget.input_estimate(Counting(cost=None), Request(prompt="hi", prior=prior))
    assert sent[0].prior == [] and sent[0].prompt == "x" * 400 + "\n\n" + "y" * 400 + "\n\nhi"
    assert runner.estimate(sent[0]).prompt_tokens > 200


def test_budget_view_lists_the_caps_a_call_falls_under(project: Path, data_dir: Path) -> None:
    project_file(
        project,
        budgets=[
            {"endpoint": "mock", "dailyUsd": 2, "monthlyUsd": 30},
            {"endpoint": "other", "dailyUsd": 1},
        ],
    )
    spend(1.5, cwd=project, data_dir=data_dir)
    config = LayeredConfig.open(None, project).load()
    view = budget.budget_view(config, "mock", project)
    assert [(s.period, s.cap, s.spent) for s in view] == [("daily", 2, 1.5), ("monthly", 30, 1.5)]
    assert [s.crossed_by(0.6) for s in view] == [True, False]
    assert view[0].remaining == 0.5


# ---- editing --------------------------------------------------------------------------------


def test_set_merges_into_the_existing_budget_where_it_is(project: Path) -> None:
    path = project_file(
        project,
        providers=[{"id": "p", "type": "openai"}],
        endpoints=[{"id": "e", "providerId": "p", "model": "m"}],
    )
    layered = LayeredConfig.open(None, project)
    place, _ = set_budget(layered, Target("e"), {"dailyUsd": 5, "monthlyUsd": 50}, None)
    assert place.field(Target("e")) == "endpoints[e].budget"
    _, changed = set_budget(layered, Target("e"), {"dailyUsd": 7.5}, None)
    assert (changed.daily_usd, changed.monthly_usd) == (7.5, 50)
    assert json.loads(path.read_text())["endpoints"][0]["budget"] == {
        "dailyUsd": 7.5,
        "monthlyUsd": 50,
    }
    remove_budget(layered, Target("e"), None)
    assert "budget" not in json.loads(path.read_text())["endpoints"][0]


def test_a_project_budget_is_written_relative_to_its_own_file(project: Path) -> None:
    path = project_file(project)
    layered = LayeredConfig.open(None, project)
    place, _ = set_budget(layered, Target(None, project.resolve()), {"dailyUsd": 1}, None)
    assert place.field(Target()) == "budgets[0]"
    assert json.loads(path.read_text())["budgets"] == [{"dailyUsd": 1, "project": "."}]
    place, _ = set_budget(layered, Target(None, project.resolve()), {"dailyUsd": 2}, "user")
    saved = json.loads(user_config_path().read_text())["budgets"]
    assert saved == [{"dailyUsd": 2, "project": str(project.resolve())}]
    remove_budget(layered, Target(None, project.resolve()), None)  # the nearest: the project's
    assert "budgets" not in json.loads(path.read_text())
    assert json.loads(user_config_path().read_text())["budgets"] == saved


def test_bad_edits_change_nothing(project: Path) -> None:
    path = project_file(project, budgets=[{"dailyUsd": 1}])
    before = path.read_text()
    layered = LayeredConfig.open(None, project)
    with pytest.raises(UsageError, match="nothing to set"):
        set_budget(layered, Target(), {}, None)
    with pytest.raises(UsageError, match="invalid budget: warnAt"):
        set_budget(layered, Target(), {"warnAt": 0}, None)
    with pytest.raises(NotFoundError):
        set_budget(layered, Target("nope"), {"dailyUsd": 1}, None)
    with pytest.raises(NotFoundError, match="no budget of endpoint nope"):
        remove_budget(layered, Target("nope"), None)
    assert path.read_text() == before


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "$0"), (5, "$5"), (4.5, "$4.50"), (4.99771, "$4.9977"), (0.000123, "$0.000123")],
)
def test_usd(value: float, text: str) -> None:
    assert budget.usd(value) == text
