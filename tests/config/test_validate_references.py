"""``ccw config validate`` checks the references of the original's provider model: fallbacks
name endpoints, pools neither shadow an endpoint nor name a missing provider."""

from __future__ import annotations

from pathlib import Path

from tests.config.conftest import ok, spec_example, write_json
from tests.conftest import RunCcw


def test_fallbacks_and_pools_must_name_what_exists(run_ccw: RunCcw, config_file: Path) -> None:
    config = spec_example()
    first = config["endpoints"][0]["id"]
    provider_id = config["providers"][0]["id"]
    config["endpoints"][0]["fallbacks"] = [first, "ghost-endpoint"]
    config["modelPools"] = [
        {
            "id": first,
            "modelType": "llm",
            "targetModel": "gpt-4o",
            "providers": [{"providerId": provider_id}, {"providerId": "ghost-provider"}],
            "excludedProviderIds": ["gone-provider"],
        }
    ]
    write_json(config_file, config)
    before = config_file.read_bytes()
    done = run_ccw("config", "validate")
    assert done.returncode == 3, done.stderr
    for expected in (
        f"endpoints.{first}.fallbacks: names itself",
        f"endpoints.{first}.fallbacks: no endpoint ghost-endpoint",
        f"modelPools.{first}: an endpoint has the same id",
        f"modelPools.{first}: no provider ghost-provider",
        f"modelPools.{first}: no provider gone-provider",
    ):
        assert expected in done.stderr, done.stderr
    assert config_file.read_bytes() == before

    config["endpoints"][0]["fallbacks"] = []
    config["modelPools"][0].update(
        id="shared-pool", providers=[{"providerId": provider_id}], excludedProviderIds=[]
    )
    write_json(config_file, config)
    assert "is valid" in ok(run_ccw("config", "validate")).stderr
