"""In process: a call's tags and the proxy's price, the model-info parse, the shared export."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from ccw.config.schema import Config
from ccw.errors import ConflictError
from ccw.exec import proxy_client
from ccw.exec.proxy_compose import compose_export, write_compose
from ccw.exec.proxy_yaml import proxy_config


def test_tags_name_the_project_and_its_endpoint() -> None:
    assert proxy_client.tags("billing svc,2", "main") == [
        "ccw-project:billing-svc-2",
        "ccw-endpoint:billing-svc-2/main",
    ]
    assert proxy_client.tags(None, "main") == ["ccw-endpoint:main"]
    assert proxy_client.project_name(Path("/work/My Repo")) == "My-Repo"


def test_tag_call_keeps_a_callers_metadata() -> None:
    kwargs: dict[str, Any] = {
        "extra_body": {"metadata": {"tags": ["mine"], "trace": "t1"}, "other": 1},
    }
    proxy_client.tag_call(kwargs, "proj", "ep")
    assert kwargs["extra_body"] == {
        "metadata": {"tags": ["mine", "ccw-project:proj", "ccw-endpoint:proj/ep"], "trace": "t1"},
        "other": 1,
    }


def test_a_proxy_call_goes_through_the_guarded_openai_sdk_client() -> None:
    from ccw.exec import http_guard

    assert http_guard.client_for("litellm_proxy/gpt-4o-mini") is None


def test_the_proxys_price_from_its_header_or_the_streams_usage() -> None:
    whole = SimpleNamespace(
        _hidden_params={"additional_headers": {"llm_provider-x-litellm-response-cost": "4.35e-06"}}
    )
    assert proxy_client.response_cost(whole) == pytest.approx(4.35e-06)
    for unpriced in (
        SimpleNamespace(_hidden_params={"additional_headers": {}}),
        SimpleNamespace(_hidden_params={"additional_headers": {"x-litellm-response-cost": "nan"}}),
        SimpleNamespace(),
    ):
        assert proxy_client.response_cost(unpriced) is None
    assert proxy_client.usage_cost(SimpleNamespace(cost=0.002)) == 0.002
    assert proxy_client.usage_cost({"cost": -1}) is None
    assert proxy_client.usage_cost(SimpleNamespace(prompt_tokens=3)) is None


def test_model_info_groups_deployments() -> None:
    body = {
        "data": [
            {
                "model_name": "main",
                "model_info": {"max_input_tokens": 128000, "supports_prompt_caching": True},
            },
            {
                "model_name": "main",
                "model_info": {"max_input_tokens": 64000, "supports_prompt_caching": False},
            },
            {"model_name": "local", "model_info": {"mode": "chat"}},
            {"model_info": {}},
        ]
    }
    main, local = proxy_client.parse_model_info(body)
    assert (main.name, main.context_window, main.prompt_caching, main.deployments) == (
        "main",
        64000,
        False,
        2,
    )
    assert (local.context_window, local.prompt_caching, local.mode) == (None, None, "chat")
    with pytest.raises(ValueError):
        proxy_client.parse_model_info({"detail": "Not Found"})


def _config() -> Config:
    return Config.model_validate(
        {
            "version": 1,
            "providers": [
                {
                    "id": "up",
                    "name": "Up",
                    "type": "openai",
                    "apiBase": "http://127.0.0.1:9/v1",
                    "apiKeys": [
                        {"id": "a", "key": "${UP_KEY}"},
                        {"id": "b", "key": "sk-literal-secret-9999"},
                    ],
                    "healthCheck": {"cooldownSeconds": 90},
                }
            ],
            "endpoints": [{"id": "main", "providerId": "up", "model": "gpt-4o-mini"}],
        }
    )


def test_a_shared_proxy_config_reads_redis_and_postgres_from_variables() -> None:
    single = proxy_config(_config()).data
    assert "general_settings" not in single and "redis_host" not in single["router_settings"]
    assert single["litellm_settings"] == {"include_cost_in_streaming_usage": True}
    assert single["router_settings"]["cooldown_time"] == 90
    shared = proxy_config(_config(), shared=True).data
    assert shared["router_settings"]["redis_host"] == "os.environ/REDIS_HOST"
    assert shared["router_settings"]["redis_port"] == "os.environ/REDIS_PORT"
    assert shared["general_settings"] == {
        "master_key": "os.environ/LITELLM_MASTER_KEY",
        "database_url": "os.environ/DATABASE_URL",
    }


def test_compose_files_name_every_variable_and_hold_no_secret(tmp_path: Path) -> None:
    export = compose_export(_config())
    text = "".join(export.files.values())
    assert "sk-literal-secret-9999" not in text
    compose = yaml.safe_load(export.files["compose.yaml"])
    services = compose["services"]
    assert services["litellm"]["deploy"]["replicas"] == 2
    assert {"gateway", "litellm", "redis", "postgres"} <= set(services)
    assert "./config.yaml:/app/config.yaml:ro" in services["litellm"]["volumes"]
    assert "litellm:4000" in compose["configs"]["nginx_conf"]["content"]
    env = dict(
        line.split("=", 1)
        for line in export.files[".env.example"].splitlines()
        if line and not line.startswith("#")
    )
    for secret in (
        "LITELLM_MASTER_KEY",
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
        "UP_KEY",
        "CCW_UP_B_API_KEY",
    ):
        assert env[secret] == ""
    assert {"DATABASE_URL", "REDIS_HOST", "REDIS_PORT", "LITELLM_IMAGE"} <= set(env)
    written = write_compose(tmp_path / "proxy", export)
    assert sorted(p.name for p in written) == [".env.example", "compose.yaml", "config.yaml"]
    (tmp_path / "proxy" / "compose.yaml").write_text("mine")
    with pytest.raises(ConflictError):
        write_compose(tmp_path / "proxy", export)
    assert (tmp_path / "proxy" / "compose.yaml").read_text() == "mine"
    write_compose(tmp_path / "proxy", export, force=True)
    assert (tmp_path / "proxy" / "compose.yaml").read_text() == export.files["compose.yaml"]


def test_the_proxy_commands_do_not_import_litellm() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ccw.cli.proxy_cmd, ccw.cli.proxy_models, ccw.exec.proxy_spend, "
        "ccw.exec.proxy_keys, ccw.exec.proxy_compose; "
        "print('litellm' in sys.modules or 'openai' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_a_proxy_without_its_database_refuses_unknown_keys_with_400() -> None:
    found = proxy_client.keyless_refusal(400, "No connected db.")
    assert found is not None and "master key" in found
    assert proxy_client.keyless_refusal(400, "model not found") is None
    assert proxy_client.keyless_refusal(500, "No connected db.") is None
