"""Where a call finds its key when the config names none, and which file the literal-key
warning names: a user-level provider lives outside the project."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.cli.conftest import endpoint, provider, write_config
from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer

STORED = "sk-stored-TYPEVAR-0123456789abcdef"
LITERAL = "sk-literal-USERFILE-0123456789abcdef"


def test_a_provider_without_api_key_finds_its_type_variable_in_the_key_store(
    run_ccw: RunCcw, project: Path, server: ProviderServer
) -> None:
    write_config(
        project,
        {
            "providers": [provider("oai", "openai", server.url + "/v1")],
            "endpoints": [endpoint("gpt", "oai", maxTokens=16)],
            "defaultEndpoint": "gpt",
        },
    )
    missing = run_ccw("cli", "-p", "hi", input="")
    assert missing.returncode != 0 and "OPENAI_API_KEY" in missing.stderr
    stored = run_ccw("keys", "set", "OPENAI_API_KEY", input=STORED)
    assert stored.returncode == 0, stored.stderr
    done = run_ccw("cli", "-p", "hi", "--json", input="")
    assert done.returncode == 0, done.stderr
    assert server.requests[-1].headers["authorization"] == f"Bearer {STORED}"
    assert STORED not in done.stdout + done.stderr


def test_the_literal_key_warning_names_the_user_file_that_holds_the_key(
    run_ccw: RunCcw, project: Path, server: ProviderServer
) -> None:
    user_file = Path(os.environ["CCW_USER_CONFIG_DIR"]) / "litellm-api-config.json"
    user_file.parent.mkdir(parents=True, exist_ok=True)
    user_file.write_text(
        json.dumps({"providers": [provider("mine", "openai", server.url + "/v1", apiKey=LITERAL)]})
    )
    write_config(project, {"endpoints": [endpoint("gpt", "mine", maxTokens=16)]})
    done = run_ccw("cli", "-p", "hi", "--model", "gpt", input="")
    assert done.returncode == 0, done.stderr
    assert "keeps its key literally in" in done.stderr
    assert str(user_file) in done.stderr and LITERAL not in done.stderr
