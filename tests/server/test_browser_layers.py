"""The page over both config layers, driven by Chromium: each entry's source, where a new
endpoint is saved, and durations people read (3.2 s, 3 min)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.conftest import RunCcw
from tests.server.conftest import Dashboard
from tests.server.test_browser import CHROMIUM, browser_type_launch_args, shot, ui  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed"),
]

if CHROMIUM.exists():
    from playwright.sync_api import Page, expect


def _user_file() -> Path:
    return Path(os.environ["CCW_USER_CONFIG_DIR"]) / "litellm-api-config.json"


def test_sources_are_shown_and_a_new_endpoint_goes_where_chosen(
    ui: Page,  # noqa: F811
    dashboard: Dashboard,
    run_ccw: RunCcw,
) -> None:
    made = run_ccw("provider", "add", "-t", "ollama", "--id", "mine", "--name", "Mine", "--global")
    assert made.returncode == 0, made.stderr
    body = {"id": "proj-ep", "providerId": "mine", "model": "llama3"}
    assert dashboard.api("POST", "/endpoints", json=body).status_code == 201
    ui.reload()
    expect(ui.locator("body[data-ready=true]")).to_have_count(1)
    expect(ui.locator("[data-provider=mine] [data-source=user]")).to_have_text("user")

    ui.get_by_role("tab", name=re.compile("Endpoints")).click()
    expect(ui.locator("[data-endpoint=proj-ep] [data-source=project]")).to_have_text("project")
    ui.get_by_role("button", name="Add endpoint").click()
    dialog = ui.locator("#endpoint-dialog")
    expect(dialog.locator("#endpoint-scope-hint")).to_have_text("default: the project config")
    dialog.locator("input[name=id]").fill("everywhere")
    dialog.get_by_label("Provider").select_option("mine")
    dialog.locator("input[name=model]").fill("llama3")
    dialog.locator("#endpoint-scope").select_option("user")
    shot(ui, "10-endpoint-saved-in-user-config")
    ui.locator("#endpoint-save").click()
    expect(ui.locator("[data-endpoint=everywhere] [data-source=user]")).to_have_text("user")
    saved = json.loads(_user_file().read_text())
    assert [e["id"] for e in saved["endpoints"]] == ["everywhere"]
    assert "scope" not in saved["endpoints"][0]


def test_durations_read_as_seconds_and_minutes(ui: Page) -> None:  # noqa: F811
    shown = ui.evaluate("[840, 3200, 180419, 3900000].map(formatDuration)")
    assert shown == ["840 ms", "3.2 s", "3 min", "1 h 5 min"]
