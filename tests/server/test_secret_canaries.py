"""Canary keys in every place a credential can sit; no API reply or CLI output may show one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ccw.paths import CONFIG_RELATIVE
from tests.config.conftest import ok, ok_json, write_json
from tests.conftest import RunCcw
from tests.server.conftest import Dashboard

CANARIES = {
    "literal": "sk-canary-LITERAL-0a1b2c3d4e5f6071",
    "env": "sk-canary-FROMENV-1a2b3c4d5e5f6072",
    "default": "sk-canary-DEFAULT-2a3b4c5d6e5f6073",
    "list": "sk-canary-LISTKEY-3a4b5c6d7e5f6074",
    "header": "sk-canary-HEADERS-4a5b6c7d8e5f6075",
    "advanced": "sk-canary-ADVANCE-5a6b7c8d9e5f6076",
}
ENV = {"CCW_CANARY_ENV": CANARIES["env"]}


def _leaks(text: str) -> list[str]:
    """Canaries found in ``text``, whole or all but the four characters a mask keeps."""
    return [name for name, value in CANARIES.items() if value[:-4] in text]


def _planted(cache_dir: Path) -> dict[str, Any]:
    return {
        "providers": [
            {"id": "lit", "type": "openai", "apiKey": CANARIES["literal"]},
            {
                "id": "ref",
                "type": "custom",
                "apiBase": "http://127.0.0.1:9/v1",
                "apiKey": "${CCW_CANARY_ENV}",
            },
            {
                "id": "dflt",
                "type": "openai",
                "apiKey": "${CCW_CANARY_UNSET:-" + CANARIES["default"] + "}",
            },
            {
                "id": "multi",
                "type": "custom",
                "apiBase": "http://127.0.0.1:9/v1",
                "apiKeys": [
                    {
                        "id": "k1",
                        "key": CANARIES["list"],
                        "label": "main",
                        "weight": 1,
                        "enabled": True,
                    },
                ],
                "customHeaders": {"Authorization": "Bearer " + CANARIES["header"]},
                "advancedSettings": {"customHeaders": {"X-Api-Key": CANARIES["advanced"]}},
            },
        ],
        "endpoints": [{"id": "e", "providerId": "ref", "model": "m"}],
        "globalCacheSettings": {"cacheDir": str(cache_dir / "$CCW_CANARY_ENV")},
    }


@pytest.fixture
def planted(dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Dashboard:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    write_json(dashboard.config_path, _planted(tmp_path / "cache"))
    return dashboard


def test_no_api_reply_shows_a_canary(planted: Dashboard) -> None:
    replies = [
        planted.api("GET", path)
        for path in ("/providers", "/config", "/cache/stats", "/endpoints", "/endpoints/e")
    ]
    replies += [planted.api("GET", f"/providers/{pid}") for pid in ("lit", "ref", "dflt", "multi")]
    # The masked values sent back keep the stored ones, list entries matched by id.
    shown = planted.api("GET", "/providers/multi").json()
    replies.append(
        planted.api(
            "PUT",
            "/providers/multi",
            json={
                "name": "renamed",
                "customHeaders": shown["customHeaders"],
                "apiKeys": shown["apiKeys"],
                "advancedSettings": shown["advancedSettings"],
            },
        )
    )
    replies.append(
        planted.api(
            "POST",
            "/providers",
            json={
                "id": "posted",
                "type": "openai",
                "apiKey": CANARIES["literal"],
                "apiKeys": [{"id": "k", "key": CANARIES["list"]}],
                "advancedSettings": {
                    "customHeaders": {"Authorization": "Bearer " + CANARIES["advanced"]}
                },
            },
        )
    )
    replies.append(planted.api("PUT", "/providers/dflt", json={"name": "d"}))
    for reply in replies:
        assert reply.status_code < 300, (reply.request.url, reply.text)
        assert _leaks(reply.text) == [], (reply.request.url, reply.text)

    stored = json.loads(planted.config_path.read_text())
    multi = next(p for p in stored["providers"] if p["id"] == "multi")
    assert multi["apiKeys"][0]["key"] == CANARIES["list"]
    assert multi["customHeaders"]["Authorization"] == "Bearer " + CANARIES["header"]
    assert multi["advancedSettings"]["customHeaders"]["X-Api-Key"] == CANARIES["advanced"]
    masked = planted.api("GET", "/providers/dflt").json()
    assert masked["apiKey"].startswith("${CCW_CANARY_UNSET:-sk-…")
    assert masked["apiKeySource"] == "literal"


def test_no_cli_output_shows_a_canary(run_ccw: RunCcw, project: Path, tmp_path: Path) -> None:
    write_json(project / CONFIG_RELATIVE, _planted(tmp_path / "cache"))
    runs = [
        run_ccw("provider", "list", env=ENV),
        run_ccw("provider", "list", "--json", env=ENV),
        run_ccw("config", "show", env=ENV),
        run_ccw("cache", "stats", env=ENV),
        run_ccw("cache", "stats", "--json", env=ENV),
        run_ccw("endpoint", "list", "--json", env=ENV),
    ]
    for pid in ("lit", "ref", "dflt", "multi"):
        runs += [
            run_ccw("provider", "show", pid, env=ENV),
            run_ccw("provider", "show", pid, "--json", env=ENV),
        ]
    runs.append(run_ccw("provider", "update", "multi", "--name", "x", "--json", env=ENV))
    for done in runs:
        ok(done)
        assert _leaks(done.stdout + done.stderr) == [], (done.args, done.stdout)
    shown = ok_json(run_ccw("provider", "show", "multi", "--json", env=ENV))
    assert shown["apiKeys"][0]["key"].startswith("sk-…")
    assert not any(CANARIES["env"] in str(path) for path in tmp_path.rglob("*"))


def test_literal_default_of_a_reference_is_warned_about(run_ccw: RunCcw) -> None:
    key = "${CCW_CANARY_UNSET:-" + CANARIES["default"] + "}"
    added = ok(run_ccw("provider", "add", "--type", "openai", "--id", "d", "--api-key", key))
    assert "literally" in added.stderr
    assert _leaks(added.stdout + added.stderr) == []
