"""Keys: ``${VAR}`` references stored as written, resolved only in memory; masked in output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccw.config import manage
from ccw.config.secrets import MissingKeyError, is_masked, mask, resolve
from ccw.config.store import ConfigStore
from ccw.errors import UsageError
from tests.config.conftest import SECRET, ok, ok_json, read_json, user_error
from tests.conftest import RunCcw

MASKED = "sk-…7890"
# A custom provider on a closed loopback port: its connection test fails fast, offline.
ADD_CUSTOM = (
    "provider",
    "add",
    "--type",
    "custom",
    "--id",
    "ref",
    "--api-base",
    "http://127.0.0.1:9/v1",
)


def _files_holding(root: Path, needle: str) -> list[Path]:
    return [
        path for path in root.rglob("*") if path.is_file() and needle.encode() in path.read_bytes()
    ]


def test_reference_is_stored_as_written_and_never_resolved_into_output(
    run_ccw: RunCcw, config_file: Path, tmp_path: Path
) -> None:
    env = {"CCW_TEST_KEY": SECRET}
    runs = [
        run_ccw(*ADD_CUSTOM, "--api-key", "${CCW_TEST_KEY}", env=env),
        run_ccw("endpoint", "add", "e", "--provider", "ref", "--model", "m", env=env),
        run_ccw("provider", "update", "ref", "--timeout", "5", env=env),
        run_ccw("endpoint", "update", "e", "--ttl", "5", env=env),
        run_ccw("provider", "list", env=env),
        run_ccw("provider", "show", "ref", env=env),
        run_ccw("endpoint", "list", env=env),
        run_ccw("config", "validate", env=env),
    ]
    for done in runs:
        ok(done)
    # The connection test resolves the key in memory and fails on a closed port.
    runs.append(run_ccw("provider", "test", "ref", "--json", env=env))
    assert runs[-1].returncode == 15, runs[-1].stderr  # unreachable
    assert json.loads(runs[-1].stdout)["errorKind"] == "unreachable"
    listed = ok_json(run_ccw("provider", "list", "--json", env=env))
    shown = ok_json(run_ccw("config", "show", env=env))
    runs += [run_ccw("provider", "show", "ref", "--json", env=env), run_ccw("config", "show")]

    for done in runs:
        assert SECRET not in done.stdout + done.stderr, done.args
    assert read_json(config_file)["providers"][0]["apiKey"] == "${CCW_TEST_KEY}"
    ref = next(p for p in listed["providers"] if p["id"] == "ref")
    assert (ref["apiKey"], ref["apiKeySource"]) == ("${CCW_TEST_KEY}", "env")
    assert shown["providers"][0]["apiKey"] == "${CCW_TEST_KEY}"
    assert _files_holding(tmp_path, SECRET) == []


def test_missing_variable_is_named_when_the_key_is_needed(run_ccw: RunCcw) -> None:
    ok(run_ccw(*ADD_CUSTOM, "--api-key", "${CCW_UNSET_KEY}"))
    probe = json.loads(run_ccw("provider", "test", "ref", "--json").stdout)
    assert probe["success"] is False
    assert probe["errorKind"] == "missing_key"
    assert "CCW_UNSET_KEY" in probe["error"]


def test_literal_key_is_masked_in_every_output(run_ccw: RunCcw, config_file: Path) -> None:
    added = run_ccw(
        "provider", "add", "--type", "openai", "--id", "lit", "--api-key", SECRET, "--json"
    )
    assert ok_json(added)["provider"]["apiKey"] == MASKED
    assert "warning" in added.stderr  # a literal key in the file is warned about
    listed = ok_json(run_ccw("provider", "list", "--json"))
    shown = ok_json(run_ccw("provider", "show", "lit", "--json"))
    config = ok_json(run_ccw("config", "show"))
    tables = [run_ccw("provider", "list"), run_ccw("provider", "show", "lit")]
    updated = run_ccw("provider", "update", "lit", "--name", "renamed", "--json")

    lit = next(p for p in listed["providers"] if p["id"] == "lit")
    assert (lit["apiKey"], lit["apiKeySource"]) == (MASKED, "literal")
    assert shown["apiKey"] == config["providers"][0]["apiKey"] == MASKED
    assert ok_json(updated)["provider"]["apiKey"] == MASKED
    for done in [added, *tables, updated]:
        assert SECRET not in done.stdout + done.stderr
    assert MASKED in tables[0].stdout
    assert read_json(config_file)["providers"][0]["apiKey"] == SECRET

    masked_add = run_ccw("provider", "add", "--type", "openai", "--api-key", MASKED)
    user_error(masked_add, "masked")


def test_masked_key_sent_back_keeps_the_stored_key(config_file: Path) -> None:
    store = ConfigStore(config_file)
    manage.add_provider(store, {"id": "lit", "type": "openai", "apiKey": SECRET})
    shown = manage.masked_provider(store.load().providers[0])

    manage.update_provider(store, "lit", {"apiKey": shown["apiKey"], "name": "edited"})

    saved = read_json(config_file)["providers"][0]
    assert (saved["apiKey"], saved["name"]) == (SECRET, "edited")
    manage.update_provider(store, "lit", {"apiKey": "${OPENAI_API_KEY}"})
    assert read_json(config_file)["providers"][0]["apiKey"] == "${OPENAI_API_KEY}"


def test_secret_in_custom_headers_is_masked(run_ccw: RunCcw) -> None:
    headers = json.dumps({"Authorization": f"Bearer {SECRET}"})
    ok(run_ccw("provider", "add", "--type", "custom", "--id", "h", "--headers", headers))
    for args in (("provider", "show", "h", "--json"), ("config", "show")):
        assert SECRET not in ok(run_ccw(*args)).stdout


@pytest.mark.parametrize(
    ("value", "env", "expected"),
    [
        ("${KEY}", {"KEY": "abc"}, "abc"),
        ("Bearer ${KEY}", {"KEY": "abc"}, "Bearer abc"),
        ("${A}-${B}", {"A": "1", "B": "2"}, "1-2"),
        ("${KEY:-fallback}", {}, "fallback"),
        ("${KEY:-fallback}", {"KEY": "set"}, "set"),
        ("${KEY:-}", {}, ""),
        ("https://${HOST:-localhost}:8080/v1", {}, "https://localhost:8080/v1"),
        ("no reference", {}, "no reference"),
        ("$KEY stays", {"KEY": "x"}, "$KEY stays"),
    ],
)
def test_resolve(value: str, env: dict[str, str], expected: str) -> None:
    assert resolve(value, env) == expected


def test_resolve_names_the_missing_variable() -> None:
    with pytest.raises(MissingKeyError) as caught:
        resolve("pre-${NOT_THERE}-post", {"OTHER": "x"}, what="provider p apiKey")
    assert "NOT_THERE" in caught.value.message
    assert "provider p apiKey" in caught.value.message
    assert caught.value.fix is not None and "NOT_THERE" in caught.value.fix


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (SECRET, MASKED),
        ("sk-ant-api03-0123456789abcdefWXYZ", "sk-…WXYZ"),
        ("AIzaSyA-0123456789abcdef", "…cdef"),
        ("short", "…"),
        ("${OPENAI_API_KEY}", "${OPENAI_API_KEY}"),
        ("${A}${B}", "${A}${B}"),
        ("${UNSET:-sk-live-0123456789abcd}", "${UNSET:-sk-…abcd}"),
        ("Bearer ${TOKEN}", "Bearer ${TOKEN}"),
        ("", ""),
        (None, None),
    ],
)
def test_mask(key: str | None, expected: str | None) -> None:
    masked = mask(key)
    assert masked == expected
    if key and masked != key:
        assert is_masked(masked)
        assert key[:-4] not in (masked or "")


def test_an_ellipsis_in_a_plain_field_is_text(config_file: Path) -> None:
    store = ConfigStore(config_file)
    manage.add_provider(store, {"id": "p", "type": "openai", "name": "Team… gateway"})
    manage.update_provider(store, "p", {"name": "Team… renamed"}, via_api=True)
    assert read_json(config_file)["providers"][0]["name"] == "Team… renamed"
    with pytest.raises(UsageError, match="masked"):
        manage.update_provider(store, "p", {"apiKeys": [{"id": "k", "key": "sk-…abcd"}]})


def test_variables_named_from_the_cli_in_base_and_headers_join_the_allow_list(
    run_ccw: RunCcw, config_file: Path
) -> None:
    """The command line is the user's own: what it names is allowed, nothing else is."""
    ok(
        run_ccw(
            *ADD_CUSTOM[:-1],
            "http://127.0.0.1:${CCW_GW_PORT}/v1",
            "--headers",
            json.dumps({"Authorization": "Bearer ${CCW_GW_TOKEN}", "X-Team": "blue"}),
        )
    )
    assert read_json(config_file)["allowedEnvVars"] == ["CCW_GW_PORT", "CCW_GW_TOKEN"]
    ok(run_ccw("provider", "update", "ref", "--headers", json.dumps({"X-Other": "${CCW_GW_2}"})))
    assert read_json(config_file)["allowedEnvVars"] == ["CCW_GW_PORT", "CCW_GW_TOKEN", "CCW_GW_2"]


def test_a_provider_repr_shows_no_credential() -> None:
    """A provider in a log line or a traceback shows no key, header or kept key field."""
    from ccw.config.schema import Provider

    provider = Provider.model_validate(
        {
            "id": "p",
            "type": "openai",
            "apiKey": "sk-live-repr-0000111122223333",
            "customHeaders": {"Authorization": "Bearer tok-repr-444455556666"},
            "apiKeys": [{"id": "k", "key": "sk-pool-repr-777788889999"}],
            "advancedSettings": {"customHeaders": {"X-Key": "adv-repr-000011112222"}},
        }
    )
    shown = repr(provider) + str(provider)
    for secret in ("0000111122223333", "444455556666", "777788889999", "000011112222"):
        assert secret not in shown
    assert "id='p'" in shown
