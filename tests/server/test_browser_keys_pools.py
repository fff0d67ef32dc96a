"""ccw's own page, driven by Chromium: a provider with several keys (labels, weights), its
routing strategy, each key's health, and the pools view. The page goes through the CSRF
token flow like the original page does (it has the session cookie once it asked for a token).
"""

from __future__ import annotations

import re

import pytest

from tests.fakes.provider_server import ProviderServer
from tests.server.conftest import Dashboard
from tests.server.test_browser import CHROMIUM, shot
from tests.server.test_browser import browser_type_launch_args as browser_type_launch_args
from tests.server.test_browser import ui as ui

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed"),
]

if CHROMIUM.exists():
    from playwright.sync_api import Page, expect

KEY_A = "sk-browser-key-AAAA-7001"
KEY_B = "sk-browser-key-BBBB-7002"


def test_a_provider_with_several_keys_weights_routing_and_health(
    ui: Page, dashboard: Dashboard
) -> None:
    with ProviderServer() as fake:
        ui.get_by_role("button", name="Add provider").click()
        dialog = ui.locator("#provider-dialog")
        dialog.locator("select[name=type]").select_option("openai")
        dialog.get_by_label("Name", exact=True).fill("Team keys")
        dialog.get_by_label("None", exact=True).check()
        dialog.get_by_label("API base").fill(fake.url + "/v1")
        for label, key, weight in (("Primary", KEY_A, "3"), ("Backup", KEY_B, "1")):
            dialog.get_by_role("button", name="Add key").click()
            row = dialog.locator(".key-row").last
            row.get_by_label("Key label").fill(label)
            row.get_by_label("Key", exact=True).fill(key)
            row.get_by_label("Weight").fill(weight)
        dialog.locator("#provider-routing").select_option("weighted")
        shot(ui, "20-provider-several-keys")
        ui.locator("#provider-save").click()

        keys = ui.locator("[data-keys]")
        expect(keys).to_contain_text("2 keys · routing: weighted")
        expect(keys.locator("[data-key]")).to_have_count(2)
        expect(keys).to_contain_text("Primary")
        expect(keys).to_contain_text("weight 3")
        expect(keys).not_to_contain_text(KEY_A)
        stored = dashboard.api("GET", "/providers").json()["providers"]
        (mine,) = [p for p in stored if p["name"] == "Team keys"]
        assert [(k["label"], k["weight"]) for k in mine["apiKeys"]] == [
            ("Primary", 3),
            ("Backup", 1),
        ]
        assert mine["routingStrategy"] == "weighted"

        fake.refuse_key(KEY_B)
        keys.get_by_role("button", name="Check keys").click()
        first = keys.locator("[data-key]").first
        second = keys.locator("[data-key]").last
        expect(first.locator("[data-key-status]")).to_have_text("healthy")
        expect(second.locator("[data-key-status]")).to_have_text("unhealthy")
        shot(ui, "21-key-health")
        assert {r.headers["authorization"] for r in fake.requests} == {
            f"Bearer {KEY_A}",
            f"Bearer {KEY_B}",
        }

        # Edit: drop the backup key and change the routing; the kept key is not re-entered.
        ui.locator(f"[data-provider={mine['id']}]").get_by_role("button", name="Edit").click()
        dialog.locator(".key-row").last.get_by_label("Remove key").click()
        dialog.locator("#provider-routing").select_option("latency-based")
        ui.locator("#provider-save").click()
        expect(keys).to_contain_text("1 keys · routing: latency-based")
        edited = dashboard.api("GET", f"/providers/{mine['id']}").json()
        assert [k["id"] for k in edited["apiKeys"]] == [mine["apiKeys"][0]["id"]]
        on_disk = dashboard.config_path.read_text()
        assert KEY_A in on_disk and KEY_B not in on_disk


def test_the_pools_view_adds_and_deletes_a_pool(ui: Page, dashboard: Dashboard) -> None:
    provider = {"id": "p", "type": "openai", "llmModels": [{"id": "gpt-4o"}]}
    assert dashboard.api("POST", "/providers", json=provider).status_code == 201
    ui.get_by_role("tab", name=re.compile("Pools")).click()
    expect(ui.locator("#pools")).to_contain_text("No pools yet")
    form = ui.locator("#pool-form")
    form.get_by_label("Name").fill("Shared 4o")
    form.get_by_label("Model").fill("gpt-4o")
    form.get_by_label("Strategy").select_option("latency_aware")
    form.get_by_role("button", name="Add pool").click()
    row = ui.locator("[data-pool]")
    expect(row).to_contain_text("Shared 4o")
    expect(row).to_contain_text("latency_aware")
    shot(ui, "22-pools")
    (pool,) = dashboard.api("GET", "/model-pools").json()["pools"]
    assert pool["targetModel"] == "gpt-4o" and pool["strategy"] == "latency_aware"
    row.get_by_role("button", name="Delete").click()
    ui.locator("#confirm-ok").click()
    expect(ui.locator("#pools")).to_contain_text("No pools yet")
    assert dashboard.api("GET", "/model-pools").json()["pools"] == []
