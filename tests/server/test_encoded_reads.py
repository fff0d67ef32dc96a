"""``GET /providers`` and ``GET /cache/stats`` answer from bytes encoded once per change:
an edit of a config file (by the API, by hand, in the user's layer) or a new pack shows on
the next request, and the bytes are the JSON the route always sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.server.conftest import SECRET, Dashboard


def ids(dashboard: Dashboard) -> list[str]:
    answer = dashboard.api("GET", "/providers")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    return [p["id"] for p in answer.json()["providers"]]


def test_providers_follow_every_edit_of_the_config(
    dashboard: Dashboard, server_env: dict[str, str]
) -> None:
    before = ids(dashboard)
    assert ids(dashboard) == before  # answered from the kept bytes
    created = dashboard.api("POST", "/providers", json={"id": "viaapi", "type": "openai"})
    assert created.status_code == 201, created.text
    assert "viaapi" in ids(dashboard)
    data = json.loads(dashboard.config_path.read_text())
    data["providers"].append({"id": "byhand", "type": "openai", "apiKey": "${BYHAND_KEY}"})
    dashboard.config_path.write_text(json.dumps(data))
    assert "byhand" in ids(dashboard)
    user = Path(os.environ["CCW_USER_CONFIG_DIR"]) / "litellm-api-config.json"
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text(json.dumps({"version": 1, "providers": [{"id": "useronly", "type": "openai"}]}))
    listed = dashboard.api("GET", "/providers").json()
    assert {"useronly", "byhand", "viaapi"} <= {p["id"] for p in listed["providers"]}
    assert listed["count"] == len(listed["providers"])
    assert SECRET not in json.dumps(listed)


def test_cache_stats_follow_a_new_pack(dashboard: Dashboard, server_env: dict[str, str]) -> None:
    empty = dashboard.api("GET", "/cache/stats").json()
    assert empty["totalSize"] == empty["totalBytes"]
    (dashboard.project / "notes.md").write_text("# notes\n" * 200)
    subprocess.run(
        [sys.executable, "-m", "ccw", "pack", "@notes.md"],
        cwd=dashboard.project,
        env=server_env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    after = dashboard.api("GET", "/cache/stats").json()
    assert after["totalBytes"] > empty["totalBytes"]
    assert after["entries"] >= empty["entries"] + 1


def test_the_polled_reads_skip_fastapis_dependency_solving_and_stay_documented(
    tmp_path: Path,
) -> None:
    from starlette.routing import Route

    from ccw.server.app import API_PREFIX, create_app

    app = create_app(tmp_path / "c.json", None, "127.0.0.1", 3000)
    first = app.router.routes[:2]
    assert {r.path for r in first} == {API_PREFIX + "/providers", API_PREFIX + "/cache/stats"}
    assert all(type(r) is Route for r in first)  # plain Starlette: matched before FastAPI's
    documented = app.openapi()["paths"]  # from the FastAPI routes behind them
    assert {API_PREFIX + "/providers", API_PREFIX + "/cache/stats"} <= set(documented)
