"""Provider and endpoint CRUD with the spec's semantics, through the CLI and the library."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ccw.config import manage
from ccw.config.store import ConfigStore
from ccw.errors import UsageError
from tests.config.conftest import (
    SPEC_ENDPOINT,
    SPEC_PROVIDER,
    ok,
    ok_json,
    read_json,
    user_error,
)
from tests.conftest import RunCcw

SPEC_STAMP = "2025-01-01T00:00:00.000Z"


def test_generated_ids_differ_and_duplicates_are_errors(run_ccw: RunCcw, config_file: Path) -> None:
    ids = [
        ok_json(run_ccw("provider", "add", "--type", "openai", "--json"))["provider"]["id"]
        for _ in range(3)
    ]
    assert len(set(ids)) == 3
    assert all(i.startswith("openai-") for i in ids)

    ok(run_ccw("endpoint", "add", "e1", "--provider", ids[0], "--model", "gpt-4o"))
    before = config_file.read_bytes()
    again = run_ccw("endpoint", "add", "e1", "--provider", ids[1], "--model", "other")
    user_error(again, "e1", "already exists")
    dup_provider = run_ccw("provider", "add", "--type", "openai", "--id", ids[0])
    user_error(dup_provider, ids[0], "already exists")
    orphan = run_ccw("endpoint", "add", "e2", "--provider", "ghost", "--model", "m")
    user_error(orphan, "provider not found: ghost")
    assert config_file.read_bytes() == before


def test_update_keeps_id_and_created_at_and_merges_cache_strategy(
    run_ccw: RunCcw, spec_file: Path
) -> None:
    updated = ok_json(
        run_ccw("endpoint", "update", SPEC_ENDPOINT, "--ttl", "5", "--max-tokens", "99", "--json")
    )["endpoint"]
    assert updated["cacheStrategy"] == {
        "enabled": True,
        "ttlMinutes": 5,
        "maxSizeKB": 512,
        "filePatterns": ["*.md", "*.ts", "*.js"],
    }
    assert updated["maxTokens"] == 99
    assert updated["createdAt"] == SPEC_STAMP
    assert updated["updatedAt"] != SPEC_STAMP

    ok(run_ccw("endpoint", "update", SPEC_ENDPOINT, "--no-cache", "--max-size-kb", "64"))
    strategy = read_json(spec_file)["endpoints"][0]["cacheStrategy"]
    assert strategy == {
        "enabled": False,
        "ttlMinutes": 5,
        "maxSizeKB": 64,
        "filePatterns": ["*.md", "*.ts", "*.js"],
    }

    provider = ok_json(run_ccw("provider", "update", SPEC_PROVIDER, "--disable", "--json"))
    assert provider["provider"]["enabled"] is False
    assert provider["provider"]["createdAt"] == SPEC_STAMP
    assert provider["provider"]["updatedAt"] != SPEC_STAMP


def test_library_updates_cannot_change_id_or_created_at(spec_file: Path) -> None:
    store = ConfigStore(spec_file)
    with pytest.raises(UsageError, match="id cannot be changed"):
        manage.update_endpoint(store, SPEC_ENDPOINT, {"id": "renamed"})
    with pytest.raises(UsageError, match="id cannot be changed"):
        manage.update_provider(store, SPEC_PROVIDER, {"id": "renamed"})

    endpoint = manage.update_endpoint(
        store, SPEC_ENDPOINT, {"id": SPEC_ENDPOINT, "createdAt": "1999-01-01T00:00:00.000Z"}
    )
    provider = manage.update_provider(
        store, SPEC_PROVIDER, {"createdAt": "1999-01-01T00:00:00.000Z", "name": "n"}
    )
    assert (endpoint.id, endpoint.created_at) == (SPEC_ENDPOINT, SPEC_STAMP)
    assert (provider.id, provider.created_at, provider.name) == (SPEC_PROVIDER, SPEC_STAMP, "n")
    saved = read_json(spec_file)
    assert [p["id"] for p in saved["providers"]] == [SPEC_PROVIDER]
    assert [e["id"] for e in saved["endpoints"]] == [SPEC_ENDPOINT]
    assert saved["providers"][0]["createdAt"] == saved["endpoints"][0]["createdAt"] == SPEC_STAMP


def test_removing_a_provider_removes_its_endpoints_and_the_default(
    run_ccw: RunCcw, spec_file: Path
) -> None:
    ok(run_ccw("provider", "add", "--type", "anthropic", "--id", "claude"))
    ok(run_ccw("endpoint", "add", "sonnet", "--provider", "claude", "--model", "claude-x"))
    ok(run_ccw("endpoint", "add", "gpt-mini", "--provider", SPEC_PROVIDER, "--model", "m"))

    removed = ok_json(run_ccw("provider", "remove", SPEC_PROVIDER, "--json"))
    assert sorted(removed["removedEndpoints"]) == ["gpt-mini", SPEC_ENDPOINT]
    saved = read_json(spec_file)
    assert [p["id"] for p in saved["providers"]] == ["claude"]
    assert [e["id"] for e in saved["endpoints"]] == ["sonnet"]
    assert saved.get("defaultEndpoint") is None
    user_error(run_ccw("provider", "remove", SPEC_PROVIDER), "provider not found")


def test_default_endpoint_is_set_cleared_and_follows_removal(
    run_ccw: RunCcw, spec_file: Path
) -> None:
    assert ok_json(run_ccw("endpoint", "default", "--json")) == {"defaultEndpoint": SPEC_ENDPOINT}
    ok(run_ccw("endpoint", "add", "second", "--provider", SPEC_PROVIDER, "--model", "m"))

    assert ok_json(run_ccw("endpoint", "default", "second", "--json")) == {
        "defaultEndpoint": "second"
    }
    assert ok_json(run_ccw("endpoint", "default", "--clear", "--json")) == {"defaultEndpoint": None}
    assert "defaultEndpoint" not in read_json(spec_file)
    user_error(run_ccw("endpoint", "default", "secnod"), "secnod", "second")

    ok(run_ccw("endpoint", "default", SPEC_ENDPOINT))
    ok(run_ccw("endpoint", "remove", SPEC_ENDPOINT))
    listed = ok_json(run_ccw("endpoint", "list", "--json"))
    assert listed["defaultEndpoint"] is None
    assert SPEC_ENDPOINT not in [e["id"] for e in listed["endpoints"]]
    assert [e["id"] for e in read_json(spec_file)["endpoints"]] == ["second"]


def test_fresh_project_lists_the_builtin_local_model_without_writing(
    run_ccw: RunCcw, config_file: Path
) -> None:
    providers = ok_json(run_ccw("provider", "list", "--json"))["providers"]
    endpoints = ok_json(run_ccw("endpoint", "list", "--json"))["endpoints"]
    assert [(p["id"], p["type"]) for p in providers] == [("local", "local")]
    assert [(e["id"], e["providerId"]) for e in endpoints] == [("local", "local")]
    assert not config_file.exists()


def test_endpoint_can_use_the_builtin_local_provider(run_ccw: RunCcw) -> None:
    ok(run_ccw("endpoint", "add", "tiny", "--provider", "local", "--model", "smollm2-135m"))


def test_timestamps_come_from_one_clock_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    readings = iter(
        [
            datetime(2025, 1, 1, 0, 0, 0, 999_900, tzinfo=UTC),
            datetime(2025, 1, 1, 0, 0, 1, 100, tzinfo=UTC),
        ]
    )

    class SteppingClock(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            return next(readings)

    monkeypatch.setattr(manage, "datetime", SteppingClock)
    assert manage.now_iso() == "2025-01-01T00:00:00.999Z"


def test_idle_timeout_is_set_and_checked_from_the_cli(run_ccw: RunCcw, config_file: Path) -> None:
    def stored() -> object:
        endpoints = read_json(config_file)["endpoints"]
        return next(e for e in endpoints if e["id"] == "slow").get("idleTimeout")

    add = ("endpoint", "add", "slow", "--provider", "local", "--model", "m")
    ok(run_ccw(*add, "--idle-timeout", "5"))
    assert stored() == 5
    ok(run_ccw("endpoint", "update", "slow", "--idle-timeout", "2.5"))
    assert stored() == 2.5
    refused = run_ccw("endpoint", "update", "slow", "--idle-timeout", "0")
    assert refused.returncode != 0 and "idleTimeout" in refused.stderr + refused.stdout
    assert stored() == 2.5
