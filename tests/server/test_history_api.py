"""Recent calls: a call made with ``ccw cli`` shows in the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer
from tests.server.conftest import SECRET, Dashboard


@pytest.fixture
def fake() -> Iterator[ProviderServer]:
    with ProviderServer() as srv:
        yield srv


def make_call(dashboard: Dashboard, run_ccw: RunCcw, fake: ProviderServer) -> str:
    """One real ``ccw cli`` call through an endpoint added with the API; returns its id."""
    provider = {
        "id": "fake",
        "type": "openai",
        "apiKey": "${FAKE_KEY}",
        "apiBase": fake.url + "/v1",
    }
    assert dashboard.api("POST", "/providers", json=provider).status_code == 201
    endpoint = {"id": "quick", "providerId": "fake", "model": "test-model", "maxTokens": 16}
    assert dashboard.api("POST", "/endpoints", json=endpoint).status_code == 201
    called = run_ccw("cli", "-p", "say hello", "--model", "quick", env={"FAKE_KEY": SECRET})
    assert called.returncode == 0, called.stderr
    return str(dashboard.api("GET", "/history?limit=1").json()["history"][0]["id"])


def test_history_lists_and_shows_calls(
    dashboard: Dashboard, run_ccw: RunCcw, fake: ProviderServer
) -> None:
    assert dashboard.api("GET", "/health").json()["history"] is True
    before = dashboard.api("GET", "/changes").json()["history"]
    call_id = make_call(dashboard, run_ccw, fake)
    assert dashboard.api("GET", "/changes").json()["history"] != before

    listed = dashboard.api("GET", "/history", params={"limit": 10, "status": "ok"}).json()
    assert listed["count"] == 1
    record = listed["history"][0]
    assert record["endpointId"] == "quick" and record["success"] is True
    detail = dashboard.api("GET", f"/history/{call_id}")
    assert detail.json()["prompt"] == "say hello"
    assert SECRET not in detail.text

    assert dashboard.api("GET", "/history/call-nope").status_code == 404
    assert dashboard.api("GET", "/history", params={"status": "maybe"}).status_code == 400
    assert dashboard.api("GET", "/history", params={"limit": 0}).status_code == 422
