"""``ccw proxy key``, the team's spend and model discovery against a server answering the
proxy's admin routes in their recorded shapes (``tests/fakes/proxy_admin_server``): virtual
keys and spend need the proxy's Postgres, which cannot run offline here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ccw.config.schema import Config
from ccw.errors import UsageError
from ccw.exec.proxy_http import ProxyRefusedError
from ccw.exec.proxy_spend import ProxySpendUnavailableError, read_team_spend
from tests.fakes.proxy_admin_server import ProxyAdminServer, SpendRow
from tests.proxy.conftest import ccw_env, run_ccw, write_config

ADMIN = "sk-admin-" + "5" * 24
MEMBER = "sk-member-" + "4" * 24
TODAY = datetime.now(UTC).date()

MODEL_INFO = [
    {
        "model_name": "main",
        "litellm_params": {"model": "openai/gpt-4o-mini"},
        "model_info": {
            "id": "d1",
            "max_input_tokens": 128000,
            "max_output_tokens": 16384,
            "supports_prompt_caching": True,
            "mode": "chat",
        },
    },
    {
        "model_name": "main",
        "litellm_params": {"model": "openai/gpt-4o-mini"},
        "model_info": {"id": "d2", "max_input_tokens": 128000, "supports_prompt_caching": True},
    },
    {
        "model_name": "local",
        "litellm_params": {"model": "openai/smol"},
        "model_info": {"id": "d3", "max_input_tokens": None},
    },
]


@pytest.fixture
def admin() -> Iterator[ProxyAdminServer]:
    with ProxyAdminServer(ADMIN, model_info=list(MODEL_INFO)) as server:
        server.spend = [
            SpendRow("ccw-project:billing", TODAY, 1.25, 10),
            SpendRow("ccw-project:billing", TODAY - timedelta(days=3), 0.5, 4),
            SpendRow("ccw-project:billing", TODAY - timedelta(days=40), 9.0, 90),
            SpendRow("ccw-endpoint:billing/main", TODAY, 1.0, 8),
            SpendRow("ccw-endpoint:billing/sonnet", TODAY, 0.25, 2),
            SpendRow("ccw-project:search", TODAY, 2.0, 3),
            SpendRow("ccw-endpoint:search/main", TODAY, 2.0, 3),
            SpendRow("User-Agent: OpenAI", TODAY, 3.25, 13),
        ]
        yield server


def _member_config(url: str) -> dict[str, object]:
    return {
        "version": 1,
        "providers": [
            {
                "id": "team",
                "name": "Team",
                "type": "litellm-proxy",
                "apiBase": f"{url}/v1",
                "apiKey": "${TEAM_PROXY_KEY}",
            }
        ],
        "endpoints": [{"id": "main", "providerId": "team", "model": "main"}],
    }


@pytest.fixture
def billing(tmp_path: Path, admin: ProxyAdminServer) -> Path:
    project = tmp_path / "billing"
    (project / ".git").mkdir(parents=True)
    write_config(project, _member_config(admin.url))
    return project


def _env(tmp_path: Path, **more: str) -> dict[str, str]:
    return {**ccw_env(tmp_path), "TEAM_PROXY_KEY": MEMBER, **more}


def _stored(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "data" / "keys.json"
    return dict(json.loads(path.read_text())["keys"]) if path.exists() else {}


def test_proxy_key_mints_a_project_key_and_stores_it_masked(
    tmp_path: Path, billing: Path, admin: ProxyAdminServer
) -> None:
    env = _env(tmp_path, LITELLM_MASTER_KEY=ADMIN)
    done = run_ccw(billing, env, "proxy", "key", "--budget", "25", "--duration", "30d", "--json")
    assert done.returncode == 0, done.stderr
    (minted,) = admin.minted
    request = minted["request"]
    assert request["max_budget"] == 25 and request["duration"] == "30d"
    assert request["metadata"]["tags"] == ["ccw-project:billing"]
    assert request["key_alias"].startswith("ccw-billing-")
    out = json.loads(done.stdout)
    assert out["name"] == "CCW_PROXY_KEY_BILLING" and out["reference"] == "${CCW_PROXY_KEY_BILLING}"
    assert minted["key"] not in done.stdout + done.stderr
    assert out["key"].endswith(minted["key"][-4:])
    assert ADMIN not in done.stdout + done.stderr
    assert _stored(tmp_path) == {"CCW_PROXY_KEY_BILLING": minted["key"]}
    (sent,) = [r for r in admin.requests if r.path == "/key/generate"]
    assert sent.headers["authorization"] == f"Bearer {ADMIN}"

    again = run_ccw(billing, env, "proxy", "key", "--budget", "5")
    assert again.returncode == 2 and "--force" in again.stderr
    assert len(admin.minted) == 1 and _stored(tmp_path) == {"CCW_PROXY_KEY_BILLING": minted["key"]}
    plain = run_ccw(billing, env, "proxy", "key", "--budget", "5", "--force", "--name", "TEAM_KEY")
    assert plain.returncode == 0, plain.stderr
    assert "TEAM_KEY" in plain.stdout + plain.stderr
    assert "--api-key '${TEAM_KEY}'" in plain.stdout
    assert admin.minted[-1]["key"] not in plain.stdout + plain.stderr


def test_proxy_key_errors_name_the_fix_and_change_nothing(
    tmp_path: Path, billing: Path, admin: ProxyAdminServer
) -> None:
    wrong = run_ccw(
        billing, _env(tmp_path, LITELLM_MASTER_KEY=MEMBER), "proxy", "key", "--budget", "10"
    )
    assert wrong.returncode == 10 and "admin key" in wrong.stderr, wrong.stderr
    assert MEMBER not in wrong.stderr + wrong.stdout and "Traceback" not in wrong.stderr
    missing = run_ccw(
        billing, _env(tmp_path), "proxy", "key", "--budget", "10", "--admin-key-env", "MY_ADMIN"
    )
    assert missing.returncode == 10 and "MY_ADMIN" in missing.stderr
    before = len(admin.requests)
    for args in (["--budget", "0"], ["--budget", "inf"], ["--budget", "5", "--duration", "9 days"]):
        bad = run_ccw(billing, _env(tmp_path, LITELLM_MASTER_KEY=ADMIN), "proxy", "key", *args)
        assert bad.returncode == 2 and "fix:" in bad.stderr, bad.stderr
    assert len(admin.requests) == before and not admin.minted and _stored(tmp_path) == {}


def test_discover_lists_models_from_the_model_info_route(
    tmp_path: Path, billing: Path, admin: ProxyAdminServer
) -> None:
    done = run_ccw(billing, _env(tmp_path), "endpoint", "add", "--discover", "--json")
    assert done.returncode == 0, done.stderr
    models = json.loads(done.stdout)["models"]
    assert models == [
        {
            "model": "main",
            "contextWindow": 128000,
            "maxOutputTokens": 16384,
            "promptCaching": True,
            "mode": "chat",
            "deployments": 2,
        },
        {
            "model": "local",
            "contextWindow": None,
            "maxOutputTokens": None,
            "promptCaching": None,
            "mode": None,
            "deployments": 1,
        },
    ]
    table = run_ccw(billing, _env(tmp_path), "endpoint", "add", "--discover")
    assert table.returncode == 0 and "128,000" in table.stdout, table.stderr
    (info,) = {r.path for r in admin.requests if "model/info" in r.path}
    assert info == "/model/info"
    other = run_ccw(billing, _env(tmp_path), "endpoint", "add", "--discover", "-p", "nope")
    assert other.returncode == 4 and "Traceback" not in other.stderr


def _config(url: str) -> Config:
    return Config.model_validate(_member_config(url))


def test_team_spend_of_one_project_and_of_all(
    admin: ProxyAdminServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAM_PROXY_KEY", ADMIN)
    since = datetime.now(UTC) - timedelta(days=7)
    spend = read_team_spend(_config(admin.url), since, "/home/me/work/billing")
    assert (spend.project, spend.cost, spend.calls) == ("billing", 1.75, 14)
    assert {t.name: t.cost for t in spend.by_endpoint} == {
        "ccw-endpoint:billing/main": 1.0,
        "ccw-endpoint:billing/sonnet": 0.25,
    }
    (sent,) = [r for r in admin.requests if r.path == "/global/spend/tags"]
    assert sent.query == {"start_date": since.date().isoformat(), "end_date": TODAY.isoformat()}
    everyone = read_team_spend(_config(admin.url), since, None)
    assert everyone.cost == 3.75 and everyone.calls == 17
    assert {t.name for t in everyone.by_project} == {"ccw-project:billing", "ccw-project:search"}
    assert everyone.to_dict()["source"] == "proxy"
    quiet = read_team_spend(_config(admin.url), since, "nothing-here")
    assert (quiet.cost, quiet.calls, quiet.by_endpoint) == (0.0, 0, ())


def test_team_spend_refused_or_without_a_database(
    admin: ProxyAdminServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    since = datetime.now(UTC) - timedelta(days=1)
    monkeypatch.setenv("TEAM_PROXY_KEY", MEMBER)
    with pytest.raises(ProxyRefusedError) as refused:
        read_team_spend(_config(admin.url), since, "billing")
    assert refused.value.exit_code == 10 and "admin" in (refused.value.fix or "")
    assert MEMBER not in str(refused.value)
    monkeypatch.setenv("TEAM_PROXY_KEY", ADMIN)
    admin.database = False
    with pytest.raises(ProxySpendUnavailableError):
        read_team_spend(_config(admin.url), since, "billing")
    with pytest.raises(UsageError):
        read_team_spend(Config.model_validate({"version": 1}), since, "billing")


def test_cost_source_proxy_through_the_cli(
    tmp_path: Path, billing: Path, admin: ProxyAdminServer
) -> None:
    pytest.importorskip("ccw.cli.cost_cmd", reason="ccw cost is not built yet")
    done = run_ccw(
        billing, _env(tmp_path, TEAM_PROXY_KEY=ADMIN), "cost", "--source", "proxy", "--json"
    )
    assert done.returncode == 0, done.stderr
    assert "1.75" in done.stdout and ADMIN not in done.stdout
    refused = run_ccw(billing, _env(tmp_path), "cost", "--source", "proxy")
    assert refused.returncode == 10 and "Traceback" not in refused.stderr
    assert MEMBER not in refused.stdout + refused.stderr
