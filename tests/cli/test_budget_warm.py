"""Budgets and ``--max-cost`` when a warm server runs the call: the same refusal (exit 17,
nothing sent to the provider) as in-process, decided by the server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_budget_e2e import LONG, calls
from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer
from tests.warm.conftest import Warm, runtime_dir, warm_env  # noqa: F401 - fixtures

pytestmark = pytest.mark.timeout(400)


@pytest.fixture
def served(warm_env: dict[str, str], project: Path, configured: Path) -> Iterator[Warm]:  # noqa: F811
    started = Warm(warm_env, project).start()
    yield started
    started.stop()


def test_a_warm_server_refuses_over_budget_and_over_max_cost(
    run_ccw: RunCcw,
    configured: Path,
    server: ProviderServer,
    keys: dict[str, str],
    served: Warm,
    warm_env: dict[str, str],  # noqa: F811
) -> None:
    env = {**warm_env, **keys}
    data = json.loads(configured.read_text())
    data["budgets"] = [{"endpoint": "gpt", "dailyUsd": 0.001}]
    configured.write_text(json.dumps(data))

    refused = run_ccw("cli", "--model", "gpt", "-p", LONG, "--json", env=env)
    assert refused.returncode == 17, refused.stderr
    result = json.loads(refused.stdout)
    assert (result["via"], result["errorKind"]) == ("server", "budget")
    assert "refused by the daily budget of endpoint gpt" in result["error"]
    assert calls(server) == 0 and served.calls() == 1

    del data["budgets"]
    configured.write_text(json.dumps(data))
    capped = run_ccw("cli", "--model", "gpt", "--max-cost", "0.001", "-p", LONG, env=env)
    assert capped.returncode == 17, capped.stderr
    assert "more than --max-cost $0.001" in capped.stderr
    assert calls(server) == 0 and served.calls() == 2
