"""The spec's file: its example loads unchanged, saves keep unknown fields, camelCase, 0600,
and the file is found through ``--config``, ``CCW_CONFIG`` or the project root."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from tests.config.conftest import (
    CONFIG_RELATIVE,
    SPEC_ENDPOINT,
    SPEC_EXAMPLE_TEXT,
    SPEC_PROVIDER,
    ok,
    ok_json,
    read_json,
    spec_example,
    write_json,
)
from tests.conftest import RunCcw


def _keys(data: Any) -> list[str]:
    """Every object key in a JSON document, recursively."""
    if isinstance(data, dict):
        return [*data, *(k for v in data.values() for k in _keys(v))]
    if isinstance(data, list):
        return [k for v in data for k in _keys(v)]
    return []


def test_spec_example_loads_unchanged(run_ccw: RunCcw, spec_file: Path) -> None:
    example = spec_example()

    endpoints = ok_json(run_ccw("endpoint", "list", "--json"))
    assert endpoints["defaultEndpoint"] == SPEC_ENDPOINT
    listed_endpoint = next(e for e in endpoints["endpoints"] if e["id"] == SPEC_ENDPOINT)
    assert listed_endpoint == example["endpoints"][0]

    providers = ok_json(run_ccw("provider", "list", "--json"))
    listed = next(p for p in providers["providers"] if p["id"] == SPEC_PROVIDER)
    # A ${VAR} reference is no secret: it is shown as written, and marked as coming from env.
    assert listed == {**example["providers"][0], "apiKeySource": "env"}

    shown = ok_json(run_ccw("config", "show"))
    example["providers"][0]["apiKeySource"] = "env"
    assert shown == example

    assert "is valid" in ok(run_ccw("config", "validate")).stderr
    assert spec_file.read_text(encoding="utf-8") == SPEC_EXAMPLE_TEXT  # reads never write


def test_save_keeps_unknown_fields_in_camel_case_with_mode_0600(
    run_ccw: RunCcw, config_file: Path
) -> None:
    data = spec_example()
    data["teamNote"] = {"owner": "ops", "tags": ["a", "b"]}
    data["providers"][0]["region"] = "eu"
    data["endpoints"][0]["routingHint"] = {"tier": 2}
    data["endpoints"][0]["cacheStrategy"]["warmup"] = True
    data["globalCacheSettings"]["evictPolicy"] = "lru"
    write_json(config_file, data)
    config_file.chmod(0o644)

    ok(run_ccw("endpoint", "update", SPEC_ENDPOINT, "--ttl", "5"))

    saved = read_json(config_file)
    saved_endpoint = saved["endpoints"][0]
    assert saved_endpoint["updatedAt"] != data["endpoints"][0]["updatedAt"]
    assert saved_endpoint["createdAt"] == data["endpoints"][0]["createdAt"]
    data["endpoints"][0]["cacheStrategy"]["ttlMinutes"] = 5
    data["endpoints"][0]["updatedAt"] = saved_endpoint["updatedAt"]
    assert saved == data
    assert [k for k in _keys(saved) if "_" in k] == []
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    leftovers = [p.name for p in config_file.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_save_keeps_unknown_fields_whose_value_is_null(run_ccw: RunCcw, config_file: Path) -> None:
    data = spec_example()
    data["reviewedBy"] = None
    data["providers"][0]["billingAccount"] = None
    write_json(config_file, data)

    ok(run_ccw("endpoint", "update", SPEC_ENDPOINT, "--ttl", "5"))

    saved = read_json(config_file)
    assert "reviewedBy" in saved
    assert "billingAccount" in saved["providers"][0]


def test_config_option_and_env_choose_the_file(
    run_ccw: RunCcw, tmp_path: Path, config_file: Path
) -> None:
    by_option = tmp_path / "elsewhere" / "by-option.json"
    by_env = tmp_path / "by-env.json"

    ok(run_ccw("--config", str(by_option), "provider", "add", "--type", "openai", "--id", "a"))
    ok(run_ccw("provider", "add", "--type", "ollama", "--id", "b", env={"CCW_CONFIG": str(by_env)}))
    assert [p["id"] for p in read_json(by_option)["providers"]] == ["a"]
    assert [p["id"] for p in read_json(by_env)["providers"]] == ["b"]
    assert not config_file.exists()

    # --config wins over CCW_CONFIG; without either, the project's file is used.
    chosen = ok(run_ccw("--config", str(by_option), "config", "path", env={"CCW_CONFIG": "x"}))
    assert chosen.stdout.strip() == str(by_option)
    assert ok(run_ccw("config", "path")).stdout.strip() == str(config_file)


def test_project_root_is_found_from_a_subfolder(
    run_ccw: RunCcw, project: Path, config_file: Path, tmp_path: Path
) -> None:
    deep = project / "src" / "pkg" / "deep"
    deep.mkdir(parents=True)

    assert ok(run_ccw("config", "path", cwd=deep)).stdout.strip() == str(config_file)
    ok(run_ccw("provider", "add", "--type", "openai", "--id", "p", cwd=deep))
    assert [p["id"] for p in read_json(config_file)["providers"]] == ["p"]
    assert not (deep / ".ccw").exists()

    # Without .ccw/ anywhere above, the git root is the project.
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "a" / "b").mkdir(parents=True)
    located = ok(run_ccw("config", "path", cwd=repo / "a" / "b")).stdout.strip()
    assert located == str(repo / CONFIG_RELATIVE)
