"""The cache the CLI fills, seen and emptied through the API."""

from __future__ import annotations

from tests.conftest import RunCcw
from tests.server.conftest import Dashboard


def _pack(run_ccw: RunCcw, dashboard: Dashboard, pattern: str) -> None:
    packed = run_ccw("pack", pattern)
    assert packed.returncode == 0, packed.stderr


def test_entries_stats_delete_and_clear(dashboard: Dashboard, run_ccw: RunCcw) -> None:
    empty = dashboard.api("GET", "/cache/stats").json()
    assert empty["entries"] == 0 and empty["enabled"] is True
    assert empty["maxBytes"] == 100 * 1024 * 1024
    stamp = dashboard.api("GET", "/changes").json()["cache"]

    (dashboard.project / "README.md").write_text("# project\n")
    (dashboard.project / "app.py").write_text("print('hi')\n")
    _pack(run_ccw, dashboard, "@*.md")
    _pack(run_ccw, dashboard, "@*.py")
    assert dashboard.api("GET", "/changes").json()["cache"] != stamp

    stats = dashboard.api("GET", "/cache/stats").json()
    assert stats["entries"] == 2 and stats["totalBytes"] > 0
    listed = dashboard.api("GET", "/cache/entries").json()
    assert listed["count"] == 2
    by_pattern = {tuple(e["patterns"]): e for e in listed["entries"]}
    md = by_pattern[("*.md",)]
    detail = dashboard.api("GET", f"/cache/entries/{md['id']}").json()
    assert [f["path"] for f in detail["fileList"]] == ["README.md"]

    assert dashboard.api("DELETE", f"/cache/entries/{md['id']}").json() == {"success": True}
    assert dashboard.api("DELETE", f"/cache/entries/{md['id']}").status_code == 404
    assert dashboard.api("GET", f"/cache/entries/{md['id']}").status_code == 404

    assert dashboard.api("POST", "/cache/clear", json={"expiredOnly": True}).json()["removed"] == 0
    cleared = dashboard.client.post("/api/litellm-api/cache/clear")
    assert cleared.json() == {"success": True, "removed": 1}
    assert dashboard.api("GET", "/cache/stats").json()["entries"] == 0


def test_global_switch_and_limit_reach_the_store(dashboard: Dashboard) -> None:
    dashboard.api("PUT", "/config/cache", json={"enabled": False, "maxTotalSizeMB": 1})
    stats = dashboard.api("GET", "/cache/stats").json()
    assert stats["enabled"] is False and stats["maxBytes"] == 1024 * 1024
    assert dashboard.api("PUT", "/config/cache", json={"maxTotalSizeMB": 0}).status_code == 422
