"""Budgets end to end: the real CLI against the loopback test provider. A refused call must
not reach the provider: every test checks the server's recorded requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli.conftest import CONFIG
from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer

# About 1,000 tokens (four characters each): $0.0025 of gpt-4o input.
LONG = "Summarise this. " + "word " * 800
LONG_INPUT_USD = 0.0025


def calls(server: ProviderServer) -> int:
    return sum(1 for r in server.requests if r.path == "/v1/chat/completions")


def set_budget(config: Path, **budget: Any) -> None:
    data = json.loads(config.read_text())
    data["budgets"] = [budget]
    config.write_text(json.dumps(data))


def test_a_budget_that_refuses_a_call_sends_nothing_to_the_provider(
    run_ccw: RunCcw, configured: Path, server: ProviderServer, keys: dict[str, str]
) -> None:
    first = run_ccw("cli", "--model", "gpt", "-p", "Say hello", "--json", env=keys)
    assert first.returncode == 0, first.stderr
    cost = json.loads(first.stdout)["cost"]
    assert cost > 0
    cap = round(cost + 0.001, 6)  # room for a small call, not for LONG's $0.0025

    done = run_ccw("budget", "set", "--endpoint", "gpt", "--daily", str(cap))
    assert done.returncode == 0, done.stderr
    assert json.loads(configured.read_text())["endpoints"][0]["budget"] == {"dailyUsd": cap}
    shown = json.loads(run_ccw("budget", "--json").stdout)["budgets"]
    assert len(shown) == 1 and shown[0]["file"] == str(configured)
    assert shown[0]["field"] == "endpoints[gpt].budget"
    assert abs(shown[0]["daily"]["spentUsd"] - cost) < 1e-9
    assert abs(shown[0]["daily"]["remainingUsd"] - (cap - cost)) < 1e-9

    sent = calls(server)
    refused = run_ccw("cli", "--model", "gpt", "-p", LONG, env=keys)
    assert refused.returncode == 17, refused.stderr
    assert calls(server) == sent  # nothing reached the provider
    assert refused.stdout == ""
    assert "refused by the daily budget of endpoint gpt" in refused.stderr
    assert f"endpoints[gpt].budget in {configured}" in " ".join(refused.stderr.split())
    assert "ccw budget set --endpoint gpt --daily USD --project" in refused.stderr
    assert "Traceback" not in refused.stderr

    history = run_ccw("cli", "history", "--json")
    last = json.loads(history.stdout)["calls"][0]
    assert (last["success"], last["errorKind"]) == (False, "budget")


def test_max_cost_refuses_one_call_estimated_above_it(
    run_ccw: RunCcw, configured: Path, server: ProviderServer, keys: dict[str, str]
) -> None:
    refused = run_ccw("cli", "--model", "gpt", "--max-cost", "0.001", "-p", LONG, env=keys)
    assert refused.returncode == 17, refused.stderr
    assert calls(server) == 0
    assert "more than --max-cost $0.001" in refused.stderr
    negative = run_ccw("cli", "--model", "gpt", "--max-cost", "-1", "-p", "hi", env=keys)
    assert negative.returncode == 2 and "--max-cost" in negative.stderr
    assert calls(server) == 0


def test_past_warn_at_a_call_goes_with_a_warning_on_stderr(
    run_ccw: RunCcw, configured: Path, server: ProviderServer, keys: dict[str, str]
) -> None:
    set_budget(configured, endpoint="gpt", dailyUsd=LONG_INPUT_USD / 0.9, warnAt=0.8)
    done = run_ccw("cli", "--model", "gpt", "--max-cost", "1", "-p", LONG, env=keys)
    assert done.returncode == 0, done.stderr
    assert calls(server) == 1
    assert "warning: budget: 90% of the daily budget of endpoint gpt" in done.stderr


def test_an_unpriced_model_is_not_refused_and_says_why(
    run_ccw: RunCcw, configured: Path, server: ProviderServer, keys: dict[str, str]
) -> None:
    set_budget(configured, endpoint="mine", dailyUsd=0)
    done = run_ccw("cli", "--model", "mine", "-p", "hi", env=keys)
    assert done.returncode == 0, done.stderr
    assert calls(server) == 1
    text = " ".join(done.stderr.split())
    assert text.count("budget not enforced: model my-model has no price") == 1


def test_a_bad_budget_in_the_config_is_one_error_naming_field_and_file(
    run_ccw: RunCcw, configured: Path, server: ProviderServer, keys: dict[str, str]
) -> None:
    set_budget(configured, endpoint="gpt", dailyUsd=-5)
    before = configured.read_text()
    for args in (("budget",), ("cli", "--model", "gpt", "-p", "hi")):
        done = run_ccw(*args, env=keys)
        assert done.returncode == 3, done.stderr
        assert "budgets.0.dailyUsd" in done.stderr and str(configured) in done.stderr
        assert "Traceback" not in done.stderr
    assert calls(server) == 0 and configured.read_text() == before


def test_budget_commands_edit_the_right_file_and_refuse_bad_input(
    run_ccw: RunCcw, configured: Path, project: Path, tmp_path: Path
) -> None:
    user = tmp_path / "user-config" / CONFIG.name
    done = run_ccw("budget", "set", "--total", "--monthly", "20", "--global")
    assert done.returncode == 0, done.stderr
    assert json.loads(user.read_text())["globalCacheSettings"]["budget"] == {"monthlyUsd": 20}
    done = run_ccw("budget", "set", "--for-project", ".", "--daily", "1.5", "--warn-at", "0.5")
    assert done.returncode == 0, done.stderr
    assert json.loads(configured.read_text())["budgets"] == [
        {"dailyUsd": 1.5, "warnAt": 0.5, "project": "."}
    ]
    listed = run_ccw("budget").stdout.splitlines()  # piped: one tab-separated row per cap
    assert [line.split("\t")[:5] for line in listed] == [
        ["every call", "monthly", "$0", "$20", "$20"],
        [f"project {project}", "daily", "$0", "$1.50", "$1.50"],
    ]

    files = (user.read_text(), configured.read_text())
    for args, code, text in (
        (("--endpoint", "gpt", "--daily", "-1"), 2, "--daily"),
        (("--daily", "5"), 2, "--endpoint ID, --for-project DIR (or both), or --total"),
        (("--total", "--endpoint", "gpt", "--daily", "5"), 2, "--total covers every call"),
        (("--endpoint", "nope", "--daily", "5"), 4, "nope"),
        (("--endpoint", "gpt"), 2, "nothing to set"),
    ):
        done = run_ccw("budget", "set", *args)
        assert done.returncode == code, done.stderr
        assert text in done.stderr and "Traceback" not in done.stderr
    assert (user.read_text(), configured.read_text()) == files

    done = run_ccw("budget", "remove", "--total", "--json")
    assert json.loads(done.stdout)["scope"] == "user"
    assert "budget" not in json.loads(user.read_text())["globalCacheSettings"]
    done = run_ccw("budget", "remove", "--total")
    assert done.returncode == 4 and "no budget of every call" in done.stderr


def test_ccw_budget_does_not_import_litellm(run_ccw: RunCcw, configured: Path) -> None:
    done = run_ccw("budget", "set", "--endpoint", "gpt", "--daily", "5")
    assert done.returncode == 0, done.stderr
    done = run_ccw("budget", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert done.returncode == 0, done.stderr
    assert "ccw.exec.budget" in done.stderr and "litellm" not in done.stderr
