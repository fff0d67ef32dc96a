"""The dashboard's API over both config layers: each entry's source, writes by scope (query
or body, default as the CLI), the files read, and the literal-key rule of a git work tree."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.conftest import RunCcw
from tests.server.conftest import SECRET, Dashboard


def _user_file() -> Path:
    return Path(os.environ["CCW_USER_CONFIG_DIR"]) / "litellm-api-config.json"


def _ids(path: Path, kind: str) -> list[str]:
    return [entry["id"] for entry in json.loads(path.read_text())[kind]]


def test_entries_show_their_source_and_writes_follow_the_scope(
    dashboard: Dashboard, run_ccw: RunCcw
) -> None:
    made = run_ccw("provider", "add", "-t", "ollama", "--id", "u-oll", "--global")
    assert made.returncode == 0, made.stderr
    files = dashboard.api("GET", "/config/files").json()
    assert [(f["scope"], f["exists"]) for f in files["files"]] == [
        ("user", True),
        ("project", False),
    ]
    assert files["defaultScope"] == "project"  # the test project has a .ccw/ folder

    # An endpoint of the project on the user's provider; one more in the user file by query.
    project_ep = dashboard.api(
        "POST", "/endpoints", json={"id": "p-ep", "providerId": "u-oll", "model": "m"}
    )
    assert project_ep.status_code == 201, project_ep.text
    user_ep = dashboard.api(
        "POST", "/endpoints?scope=user", json={"id": "u-ep", "providerId": "u-oll", "model": "m"}
    )
    assert user_ep.status_code == 201, user_ep.text
    by_body = dashboard.api(
        "POST", "/providers", json={"id": "u-2", "type": "ollama", "scope": "user"}
    )
    assert by_body.status_code == 201, by_body.text
    assert "scope" not in json.loads(_user_file().read_text())["providers"][-1]
    assert _ids(_user_file(), "endpoints") == ["u-ep"]
    assert _ids(dashboard.config_path, "endpoints") == ["p-ep"]
    assert _ids(_user_file(), "providers") == ["u-oll", "u-2"]

    providers = {p["id"]: p for p in dashboard.api("GET", "/providers").json()["providers"]}
    assert providers["u-oll"]["source"] == "user" and providers["local"]["source"] == "built-in"
    endpoints = {e["id"]: e for e in dashboard.api("GET", "/endpoints").json()["endpoints"]}
    assert endpoints["p-ep"]["source"] == "project" and endpoints["u-ep"]["source"] == "user"
    assert dashboard.api("GET", "/endpoints/u-ep").json()["source"] == "user"

    # An edit without a scope changes the entry where it is defined; with one, it overrides.
    changed = dashboard.api("PUT", "/endpoints/u-ep", json={"model": "m2"})
    assert changed.status_code == 200
    assert json.loads(_user_file().read_text())["endpoints"][0]["model"] == "m2"
    override = dashboard.api("PUT", "/endpoints/u-ep?scope=project", json={"model": "m3"})
    assert override.status_code == 200
    assert dashboard.api("GET", "/endpoints/u-ep").json()["model"] == "m3"
    assert _ids(dashboard.config_path, "endpoints") == ["p-ep", "u-ep"]
    assert dashboard.api("DELETE", "/endpoints/u-ep").status_code == 200  # the override
    assert dashboard.api("GET", "/endpoints/u-ep").json()["source"] == "user"

    clash = dashboard.api(
        "POST", "/providers?scope=project", json={"id": "x", "type": "ollama", "scope": "user"}
    )
    assert clash.status_code == 400 and "disagree" in clash.json()["error"]
    unknown = dashboard.api("POST", "/providers?scope=team", json={"id": "x", "type": "ollama"})
    assert unknown.status_code == 422


def test_a_literal_key_through_the_api_is_refused_in_a_git_work_tree(
    dashboard: Dashboard,
) -> None:
    subprocess.run(["git", "init", "-q", str(dashboard.project)], check=True)
    body = {"id": "lit", "type": "openai", "apiKey": SECRET}
    refused = dashboard.api("POST", "/providers", json=body)
    assert refused.status_code == 400, refused.text
    answer = refused.json()
    assert "git work tree" in answer["error"] and "scope=user" in answer["fix"]
    assert SECRET not in refused.text
    assert not dashboard.config_path.exists()

    kept = dashboard.api("POST", "/providers?scope=user", json=body)
    assert kept.status_code == 201 and SECRET not in kept.text
    assert json.loads(_user_file().read_text())["providers"][0]["apiKey"] == SECRET
    shown = dashboard.api("GET", "/providers/lit").json()
    assert shown["source"] == "user" and shown["apiKey"] == "sk-…2e1b"
