"""The spec API reads the user's config beneath the project's, as the CLI does, and writes the
project's file."""

from __future__ import annotations

import os
from pathlib import Path

from ccw import spec_api
from tests.config.conftest import CONFIG_RELATIVE, read_json, write_json


def test_lookups_see_both_files_and_edits_write_the_projects(project: Path) -> None:
    user_file = Path(os.environ["CCW_USER_CONFIG_DIR"]) / "litellm-api-config.json"
    write_json(user_file, {"providers": [{"id": "oll", "type": "ollama"}]})
    assert [p.id for p in spec_api.get_all_providers(project)] == ["oll", "local"]

    spec_api.add_endpoint(project, {"id": "mine", "providerId": "oll", "model": "llama3"})
    assert [e["id"] for e in read_json(project / CONFIG_RELATIVE)["endpoints"]] == ["mine"]
    assert "endpoints" not in read_json(user_file)
    found = spec_api.get_endpoint(project, "mine")
    assert found is not None and found.provider_id == "oll"
    assert spec_api.load_config(project).provider("oll") is not None
    assert spec_api.delete_provider(project, "oll") is False  # not the project's to delete
