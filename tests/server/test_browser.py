"""The page, driven by Debian's Chromium: the flows a developer uses, one screenshot each."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer
from tests.server.conftest import Dashboard, MakeDashboard
from tests.server.test_history_api import make_call

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed"),
]

if CHROMIUM.exists():
    from playwright.sync_api import Page, expect


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def fake() -> Iterator[ProviderServer]:
    with ProviderServer() as srv:
        yield srv


@pytest.fixture
def ui(page: Page, dashboard: Dashboard) -> Page:
    page.set_viewport_size({"width": 1200, "height": 820})
    page.goto(dashboard.url + "/")
    expect(page.locator("body[data-ready=true]")).to_have_count(1)
    return page


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def add_provider(page: Page, name: str, env: str, base: str) -> None:
    page.get_by_role("button", name="Add provider").click()
    dialog = page.locator("#provider-dialog")
    dialog.locator("select[name=type]").select_option("openai")
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_label("Environment variable", exact=True).check()
    dialog.get_by_label("Environment variable name").fill(env)
    dialog.get_by_label("API base").fill(base)
    return None


def allow_env(dashboard: Dashboard, *names: str) -> None:
    """What ``ccw config allow-env`` does: the page may then refer to these variables."""
    dashboard.config_path.parent.mkdir(parents=True, exist_ok=True)
    dashboard.config_path.write_text(json.dumps({"allowedEnvVars": list(names)}))


def test_add_a_provider_with_an_env_reference(ui: Page, dashboard: Dashboard) -> None:
    allow_env(dashboard, "TEAM_OPENAI_KEY")
    add_provider(ui, "Team OpenAI", "TEAM_OPENAI_KEY", "http://127.0.0.1:9/v1")
    shot(ui, "01-add-provider-dialog")
    ui.locator("#provider-save").click()
    row = ui.locator("[data-provider]", has_text="Team OpenAI")
    expect(row).to_contain_text("${TEAM_OPENAI_KEY}")
    expect(row).to_contain_text("env")
    shot(ui, "02-providers")
    stored = dashboard.api("GET", "/providers").json()["providers"]
    assert any(p["apiKey"] == "${TEAM_OPENAI_KEY}" for p in stored)


def test_add_an_endpoint_and_copy_its_command(ui: Page, dashboard: Dashboard) -> None:
    dashboard.api("POST", "/providers", json={"id": "team", "name": "Team", "type": "openai"})
    ui.get_by_role("tab", name=re.compile("Endpoints")).click()
    ui.get_by_role("button", name="Add endpoint").click()
    dialog = ui.locator("#endpoint-dialog")
    dialog.locator("input[name=id]").fill("review")
    dialog.get_by_label("Provider").select_option("team")
    dialog.locator("input[name=model]").fill("gpt-4o")
    dialog.get_by_label("TTL (minutes)").fill("30")
    dialog.locator("textarea[name=filePatterns]").fill("*.md, src/**/*.py")
    shot(ui, "03-add-endpoint-dialog")
    ui.locator("#endpoint-save").click()
    row = ui.locator("[data-endpoint=review]")
    expect(row).to_contain_text('ccw cli -p "..." --model review')
    expect(row).to_contain_text("cache 30 min")
    shot(ui, "04-endpoints")
    endpoint = dashboard.api("GET", "/endpoints/review").json()
    assert endpoint["cacheStrategy"]["filePatterns"] == ["*.md", "src/**/*.py"]


def test_test_connection_success_and_failure(
    ui: Page, dashboard: Dashboard, fake: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_PROVIDER_KEY", "sk-browser-test-key-123456")
    allow_env(dashboard, "FAKE_PROVIDER_KEY")
    good = {"id": "good", "name": "Loopback", "type": "openai", "apiKey": "${FAKE_PROVIDER_KEY}"}
    dashboard.api("POST", "/providers", json={**good, "apiBase": fake.url + "/v1"})
    bad = {"id": "bad", "name": "Wrong base", "type": "custom", "apiBase": fake.url + "/nowhere"}
    dashboard.api("POST", "/providers", json=bad)
    good_row = ui.locator("[data-provider=good]")
    good_row.get_by_role("button", name="Test").click()
    expect(good_row.locator("[data-test-result=ok]")).to_contain_text("Connected in")
    bad_row = ui.locator("[data-provider=bad]")
    bad_row.get_by_role("button", name="Test").click()
    failure = bad_row.locator("[data-test-result=error]")
    expect(failure).to_contain_text("not found")
    expect(failure).to_contain_text("HTTP 404")
    shot(ui, "05-test-connection")
    assert fake.requests[0].headers["authorization"] == "Bearer sk-browser-test-key-123456"


def test_api_errors_show_in_the_page(ui: Page, dashboard: Dashboard) -> None:
    dashboard.api("POST", "/providers", json={"id": "p", "type": "openai"})
    dashboard.api("POST", "/endpoints", json={"id": "taken", "providerId": "p", "model": "m"})
    ui.get_by_role("tab", name=re.compile("Endpoints")).click()
    ui.get_by_role("button", name="Add endpoint").click()
    dialog = ui.locator("#endpoint-dialog")
    dialog.locator("input[name=id]").fill("taken")
    dialog.locator("input[name=model]").fill("gpt-4o")
    ui.locator("#endpoint-save").click()
    expect(ui.locator("#endpoint-error")).to_contain_text("endpoint id already exists: taken")
    shot(ui, "06-error-in-dialog")


def test_the_page_follows_changes_made_elsewhere(ui: Page, dashboard: Dashboard) -> None:
    dashboard.api(
        "POST",
        "/providers",
        json={"id": "from-cli", "name": "Made in a shell", "type": "anthropic"},
    )
    expect(ui.locator("[data-provider=from-cli]")).to_be_visible(timeout=15_000)


def test_see_and_clear_the_cache(ui: Page, dashboard: Dashboard, run_ccw: RunCcw) -> None:
    (dashboard.project / "README.md").write_text("# project\n\nNotes.\n")
    (dashboard.project / "app.py").write_text("print('hi')\n")
    for pattern in ("@*.md", "@*.py", "@*"):
        assert run_ccw("pack", pattern).returncode == 0
    ui.get_by_role("tab", name=re.compile("Cache")).click()
    expect(ui.locator("[data-entry]")).to_have_count(3, timeout=15_000)
    shot(ui, "08-cache")
    ui.get_by_role("button", name="Clear cache").click()
    ui.locator("#confirm-ok").click()
    expect(ui.locator("#cache-entries")).to_contain_text("The cache is empty")
    shot(ui, "09-cache-cleared")
    assert dashboard.api("GET", "/cache/stats").json()["entries"] == 0

    ui.locator(".switch").click()
    expect(ui.locator("#cache-stats")).to_contain_text("caching is off")
    assert dashboard.api("GET", "/config").json()["globalCacheSettings"]["enabled"] is False


def test_recent_calls(
    ui: Page, dashboard: Dashboard, run_ccw: RunCcw, fake: ProviderServer
) -> None:
    call_id = make_call(dashboard, run_ccw, fake)
    ui.get_by_role("tab", name="Recent calls").click()
    row = ui.locator("#history .row").first
    expect(row).to_contain_text("quick", timeout=15_000)
    expect(row).to_contain_text("say hello")
    shot(ui, "10-recent-calls")
    assert call_id


def test_editing_keeps_a_literal_key_it_never_saw(ui: Page, dashboard: Dashboard) -> None:
    key = "sk-literal-key-never-shown-9876"
    dashboard.api(
        "POST", "/providers", json={"id": "lit", "name": "Literal", "type": "openai", "apiKey": key}
    )
    row = ui.locator("[data-provider=lit]")
    expect(row).to_contain_text("sk-…9876")
    row.get_by_role("button", name="Edit").click()
    dialog = ui.locator("#provider-dialog")
    expect(dialog.locator("#provider-key-hint")).to_contain_text("Leave empty to keep it")
    dialog.get_by_label("Name", exact=True).fill("Renamed")
    ui.locator("#provider-save").click()
    expect(ui.locator("[data-provider=lit]")).to_contain_text("Renamed")
    assert key not in ui.content()
    assert json.loads(dashboard.config_path.read_text())["providers"][0]["apiKey"] == key


def test_a_token_protected_dashboard(page: Page, make_dashboard: MakeDashboard) -> None:
    dashboard = make_dashboard(token="page-token")
    page.goto(dashboard.url + "/")
    expect(page.locator("#alert")).to_contain_text("this server needs a token")
    shot(page, "11-token-needed")
    page.locator("#token-input").fill("page-token")
    page.get_by_role("button", name="Use token").click()
    expect(page.locator("body[data-ready=true]")).to_have_count(1)
    page.evaluate("sessionStorage.clear()")
    page.goto("about:blank")
    page.goto(dashboard.url + "/#token=page-token")
    expect(page.locator("body[data-ready=true]")).to_have_count(1)
    assert "page-token" not in page.url


def test_narrow_screen(page: Page, dashboard: Dashboard) -> None:
    dashboard.api(
        "POST",
        "/providers",
        json={"id": "p", "name": "Phone", "type": "openai", "apiKey": "${OPENAI_API_KEY}"},
    )
    dashboard.api("POST", "/endpoints", json={"id": "e", "providerId": "p", "model": "gpt-4o"})
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(dashboard.url + "/#endpoints")
    expect(page.locator("[data-endpoint=e]")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    shot(page, "07-narrow-endpoints")
