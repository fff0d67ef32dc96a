"""Fixtures for ``ccw cli`` tests: a loopback provider and a project configured to use it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.provider_server import ProviderServer

SECRET = "sk-test-SECRET-abcdef1234567890"
CONFIG = Path(".ccw/storage/config/litellm-api-config.json")


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as srv:
        yield srv


def write_config(project: Path, data: dict[str, Any]) -> Path:
    path = project / CONFIG
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path


def provider(pid: str, ptype: str, base: str, **extra: Any) -> dict[str, Any]:
    return {"id": pid, "name": pid, "type": ptype, "apiBase": base, "enabled": True, **extra}


def endpoint(eid: str, pid: str, model: str = "gpt-4o", **extra: Any) -> dict[str, Any]:
    return {"id": eid, "name": eid, "providerId": pid, "model": model, "enabled": True, **extra}


@pytest.fixture
def configured(project: Path, server: ProviderServer) -> Path:
    """Providers of three wire formats on the loopback server, keys as env references."""
    return write_config(
        project,
        {
            "version": 1,
            "providers": [
                provider("oai", "openai", server.url + "/v1", apiKey="${TEST_OPENAI_KEY}"),
                provider("ant", "anthropic", server.url, apiKey="${TEST_ANTHROPIC_KEY}"),
                provider("oll", "ollama", server.url),
                provider("cus", "custom", server.url + "/v1", customHeaders={"X-Team": "qa"}),
            ],
            "endpoints": [
                endpoint("gpt", "oai", maxTokens=64),
                endpoint("claude", "ant", "claude-sonnet-4-5", maxTokens=64),
                endpoint("llama", "oll", "llama3.2", maxTokens=64),
                endpoint("mine", "cus", "my-model", maxTokens=64),
                endpoint("off", "oai", enabled=False),
            ],
            "defaultEndpoint": "gpt",
        },
    )


@pytest.fixture
def keys() -> dict[str, str]:
    return {"TEST_OPENAI_KEY": SECRET, "TEST_ANTHROPIC_KEY": SECRET}
