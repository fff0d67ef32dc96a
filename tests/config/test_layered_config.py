"""The merge of the user's config and the project's, in process: entries by id kept whole
(unknown fields included), the project's settings and default first, provenance, and the
file an edit writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccw.config.effective import find_endpoint
from ccw.config.layers import LayeredConfig, merge
from ccw.config.provenance import provenance_of
from ccw.config.schema import Config
from ccw.config.store import ConfigStore
from ccw.errors import NotFoundError, UsageError
from tests.config.conftest import CONFIG_RELATIVE, write_json

USER = {
    "providers": [
        {
            "id": "oai",
            "type": "openai",
            "apiKey": "${OPENAI_API_KEY}",
            "apiKeys": [{"id": "k1", "key": "${K1}", "weight": 2}],
            "futureField": {"x": [1]},
        },
        {"id": "shared", "type": "ollama", "apiBase": "http://user:11434"},
    ],
    "endpoints": [{"id": "gpt", "providerId": "oai", "model": "gpt-4o", "pool": ["a"]}],
    "defaultEndpoint": "gpt",
    "allowedEnvVars": ["USER_VAR"],
    "globalCacheSettings": {"cacheDir": "~/user-cache"},
    "userOnly": {"kept": True},
}
PROJECT = {
    "providers": [{"id": "shared", "type": "ollama", "apiBase": "http://project:11434"}],
    "endpoints": [{"id": "local-ep", "providerId": "shared", "model": "llama3"}],
    "allowedEnvVars": ["PROJECT_VAR"],
}


def _config(data: dict[str, object]) -> Config:
    return Config.model_validate(data)


def test_merge_replaces_entries_by_id_and_keeps_unknown_fields() -> None:
    merged = merge(_config(USER), _config(PROJECT))
    assert [p.id for p in merged.providers] == ["oai", "shared"]
    assert merged.provider("shared").api_base == "http://project:11434"  # type: ignore[union-attr]
    oai = merged.to_json()["providers"][0]
    assert oai == _config(USER).to_json()["providers"][0]  # kept whole, as its file holds it
    assert oai["apiKeys"][0]["key"] == "${K1}" and oai["futureField"] == {"x": [1]}
    assert merged.to_json()["endpoints"][0]["pool"] == ["a"]
    assert [e.id for e in merged.endpoints] == ["gpt", "local-ep"]
    assert merged.default_endpoint == "gpt"  # the project sets none
    assert merged.allowed_env_vars == ["USER_VAR", "PROJECT_VAR"]
    assert merged.global_cache_settings.cache_dir == "~/user-cache"
    assert merged.to_json()["userOnly"] == {"kept": True}


def test_the_projects_default_and_settings_win() -> None:
    project = {**PROJECT, "defaultEndpoint": "local-ep", "globalCacheSettings": {"enabled": False}}
    merged = merge(_config(USER), _config(project))
    assert merged.default_endpoint == "local-ep"
    assert merged.global_cache_settings.enabled is False
    assert merged.global_cache_settings.cache_dir == "~/.ccw/cache/context"


def _layers(tmp_path: Path, with_ccw: bool = True) -> LayeredConfig:
    project_file = tmp_path / "p" / CONFIG_RELATIVE
    user_file = tmp_path / "u" / "litellm-api-config.json"
    write_json(user_file, USER)
    if with_ccw:
        write_json(project_file, PROJECT)
    return LayeredConfig(ConfigStore(project_file), ConfigStore(user_file))


def test_provenance_names_each_entrys_file_and_unknown_ids_name_every_file(
    tmp_path: Path,
) -> None:
    layers = _layers(tmp_path)
    merged = layers.load()
    provenance = provenance_of(merged)
    assert provenance is not None
    assert provenance.provider_source("oai") == "user"
    assert provenance.provider_source("shared") == "project"
    assert provenance.overridden == {("provider", "shared"): "user"}
    assert provenance.endpoint_source("local") == "built-in"
    assert provenance.file_of("provider", "oai") == layers.user.path  # type: ignore[union-attr]
    assert provenance.file_of("endpoint", "local-ep") == layers.project.path
    assert provenance.file_of("endpoint", "local") is None
    with pytest.raises(NotFoundError) as caught:
        find_endpoint(merged, "nope")
    message = caught.value.message
    assert str(layers.user.path) in message and "ids: gpt" in message  # type: ignore[union-attr]
    assert str(layers.project.path) in message and "ids: local-ep" in message


def test_edits_go_to_the_project_when_it_has_ccw_else_to_the_user(tmp_path: Path) -> None:
    layers = _layers(tmp_path)
    assert layers.store_for(None) is layers.project
    assert layers.store_for("user") is layers.user
    assert layers.store_holding("provider", "oai", None) is layers.user
    assert layers.store_holding("provider", "shared", None) is layers.project
    others = layers.others(layers.project)
    assert others is not None and others.provider("oai") is not None

    bare = _layers(tmp_path / "bare", with_ccw=False)
    assert bare.store_for(None) is bare.user

    alone = LayeredConfig(ConfigStore(tmp_path / "one.json"))
    assert alone.store_for(None) is alone.project and alone.others(alone.project) is None
    with pytest.raises(UsageError):
        alone.store_for("user")


def test_a_file_given_to_the_server_is_layered_only_when_it_is_a_projects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_file = tmp_path / "p" / CONFIG_RELATIVE
    monkeypatch.delenv("CCW_CONFIG", raising=False)
    assert not LayeredConfig.for_file(ConfigStore(project_file)).alone
    assert LayeredConfig.for_file(ConfigStore(tmp_path / "x.json")).alone
    monkeypatch.setenv("CCW_CONFIG", str(project_file))
    assert LayeredConfig.for_file(ConfigStore(project_file)).alone


def test_a_broken_user_file_names_itself(tmp_path: Path) -> None:
    layers = _layers(tmp_path)
    assert layers.user is not None
    layers.user.path.write_text(json.dumps(USER)[:-3], encoding="utf-8")
    with pytest.raises(Exception) as caught:
        layers.load()
    assert str(layers.user.path) in str(caught.value)
