"""The public facade (``import ccw``) and the spec's API under Python names.

The example in ``docs/python-api.md`` is run as written, in a subprocess that knows only
``import ccw``, against the test provider; the other tests call each function in process.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import ccw
from tests.fakes.provider_server import DEFAULT_REPLY, ProviderServer

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"
SECRET = "sk-test-FACADE-0123456789abcdef"


@pytest.fixture
def provider_server() -> Iterator[ProviderServer]:
    with ProviderServer() as srv:
        yield srv


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, ccw_env: dict[str, str], project: Path) -> Path:
    """This process sees the same isolated HOME and data dir as a ``run_ccw`` process."""
    for name in ("HOME", "CCW_DATA_DIR", "XDG_DATA_HOME"):
        monkeypatch.setenv(name, ccw_env[name])
    monkeypatch.delenv("CCW_CONFIG", raising=False)
    monkeypatch.setenv("FACADE_KEY", SECRET)
    return project


def _run(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# ---- the facade ----------------------------------------------------------------------------


def test_import_ccw_loads_no_heavy_dependency(ccw_env: dict[str, str], tmp_path: Path) -> None:
    code = (
        "import json, sys, ccw\n"
        "ccw.__all__, ccw.__version__\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pydantic', 'typer', 'litellm', 'rich', 'fastapi', 'httpx') or m.startswith('ccw.'))))"
    )
    done = _run(code, ccw_env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["ccw.version"]  # a constant, nothing else


def test_every_exported_name_resolves_and_nothing_else_does() -> None:
    for name in ccw.__all__:
        assert getattr(ccw, name) is not None, name
    assert set(ccw.__all__) <= set(dir(ccw))
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        ccw.nothing_here  # noqa: B018
    from ccw import errors  # a submodule still imports as one

    assert ccw.CcwError is errors.CcwError


def test_the_documented_example_runs_against_a_provider(
    provider_server: ProviderServer, ccw_env: dict[str, str], tmp_path: Path
) -> None:
    script = re.search(r"## A runnable example.*?```python\n(.*?)```", DOC.read_text(), re.S)
    assert script is not None
    assert re.findall(r"^(?:import|from) (\S+)", script.group(1), re.M) == [
        "os",
        "tempfile",
        "pathlib",
        "ccw",
    ], "the example may use only the documented facade"
    env = {**ccw_env, "BASE_URL": provider_server.url + "/v1", "MY_KEY": SECRET}
    done = _run(script.group(1), env, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "['mine', 'local']"
    assert lines[1].startswith("ResolvedProvider(id='mine', type='custom', api_key='${MY_KEY}'")
    assert lines[2] == "['notes.txt']"
    assert lines[3] == "True my-model mine ['notes.txt']"
    assert lines[4] == f"True {DEFAULT_REPLY}"
    assert SECRET not in done.stdout + done.stderr
    call = provider_server.requests[-1]
    assert call.headers["authorization"] == f"Bearer {SECRET}"
    assert "The launch is on Tuesday." in json.dumps(call.body)


# ---- the spec's config manager -------------------------------------------------------------


def test_providers_are_added_read_updated_and_deleted(isolated: Path) -> None:
    added = ccw.add_provider(isolated, {"id": "oai", "type": "openai", "apiKey": "${FACADE_KEY}"})
    assert added.id == "oai" and added.created_at
    assert [p.id for p in ccw.get_all_providers(isolated)] == ["oai", "local"]
    found = ccw.get_provider(isolated, "oai")
    assert found is not None and found.api_key == "${FACADE_KEY}"
    assert ccw.get_provider(isolated, "nope") is None

    made = ccw.add_provider(isolated, {"type": "anthropic"})
    assert made.id.startswith("anthropic-")
    with pytest.raises(ccw.CcwError, match="already exists"):
        ccw.add_provider(isolated, {"id": "oai", "type": "openai"})

    updated = ccw.update_provider(isolated, "oai", {"timeout": 30})
    assert updated.timeout == 30 and updated.api_key == "${FACADE_KEY}"
    assert ccw.load_config(isolated).provider("oai") == updated

    assert ccw.delete_provider(isolated, "oai") is True
    assert ccw.delete_provider(isolated, "oai") is False
    assert ccw.get_provider(isolated, "oai") is None


def test_endpoints_are_added_read_updated_and_deleted(isolated: Path) -> None:
    ccw.add_provider(isolated, {"id": "oai", "type": "openai"})
    added = ccw.add_endpoint(isolated, {"id": "gpt", "providerId": "oai", "model": "gpt-4o"})
    assert added.cache_strategy.enabled
    assert ccw.load_config(isolated).default_endpoint == "gpt"
    assert [e.id for e in ccw.get_all_endpoints(isolated)] == ["gpt", "local"]
    assert ccw.get_endpoint(isolated, "gpt") == ccw.find_endpoint_by_id(isolated, "gpt") == added
    assert ccw.find_endpoint_by_id(isolated, "nope") is None

    updated = ccw.update_endpoint(isolated, "gpt", {"cacheStrategy": {"ttlMinutes": 5}})
    assert updated.cache_strategy.ttl_minutes == 5 and updated.cache_strategy.enabled
    with pytest.raises(ccw.CcwError) as missing:
        ccw.add_endpoint(isolated, {"id": "x", "providerId": "nope", "model": "m"})
    assert missing.value.exit_code == 4

    assert ccw.delete_endpoint(isolated, "gpt") is True
    assert ccw.delete_endpoint(isolated, "gpt") is False
    assert ccw.load_config(isolated).default_endpoint is None
    ccw.add_endpoint(isolated, {"id": "again", "providerId": "oai", "model": "gpt-4o"})
    ccw.delete_provider(isolated, "oai")
    assert ccw.get_endpoint(isolated, "again") is None  # a provider's endpoints go with it


def test_load_config_without_a_folder_reads_the_file_ccw_uses(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ccw.add_provider(isolated, {"id": "oai", "type": "openai"})
    monkeypatch.chdir(isolated)
    assert ccw.load_config().provider("oai") is not None


def test_a_resolved_key_never_shows_in_repr_or_str(isolated: Path) -> None:
    ccw.add_provider(isolated, {"id": "ref", "type": "openai", "apiKey": "${FACADE_KEY}"})
    ccw.add_provider(isolated, {"id": "lit", "type": "openai", "apiKey": SECRET})
    for provider_id in ("ref", "lit"):
        resolved = ccw.get_provider_with_resolved_env_vars(isolated, provider_id)
        assert resolved is not None and resolved.resolved_api_key is not None
        assert resolved.resolved_api_key.reveal() == SECRET
        shown = [repr(resolved), str(resolved), repr(resolved.resolved_api_key)]
        shown += [str(resolved.resolved_api_key), f"{resolved.resolved_api_key}"]
        for text in shown:
            assert SECRET not in text
            assert "…cdef" in text
    assert ccw.get_provider_with_resolved_env_vars(isolated, "nope") is None


def test_a_key_resolves_as_a_call_resolves_it(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ccw.add_provider(isolated, {"id": "bare", "type": "openai"})
    ccw.add_provider(isolated, {"id": "oll", "type": "ollama"})
    ccw.add_provider(isolated, {"id": "unset", "type": "openai", "apiKey": "${NOT_SET_HERE}"})
    with pytest.raises(ccw.CcwError, match="API key not configured for provider bare"):
        ccw.get_provider_with_resolved_env_vars(isolated, "bare")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    bare = ccw.get_provider_with_resolved_env_vars(isolated, "bare")
    assert bare is not None and bare.resolved_api_key is not None
    assert bare.resolved_api_key.reveal() == SECRET
    oll = ccw.get_provider_with_resolved_env_vars(isolated, "oll")
    assert oll is not None and oll.resolved_api_key is None
    with pytest.raises(ccw.CcwError) as unset:
        ccw.get_provider_with_resolved_env_vars(isolated, "unset")
    assert "NOT_SET_HERE" in unset.value.message and unset.value.fix


# ---- the spec's executor -------------------------------------------------------------------


def test_execute_litellm_endpoint_streams_to_on_output(
    isolated: Path, provider_server: ProviderServer
) -> None:
    (isolated / "a.py").write_text("print('hi')\n")
    ccw.add_provider(
        isolated,
        {
            "id": "oai",
            "type": "openai",
            "apiBase": provider_server.url + "/v1",
            "apiKey": "${FACADE_KEY}",
        },
    )
    ccw.add_endpoint(isolated, {"id": "gpt", "providerId": "oai", "model": "gpt-4o"})
    seen: list[ccw.Output] = []
    result = ccw.execute_litellm_endpoint(
        prompt="@a.py Review", endpoint_id="gpt", base_dir=isolated, on_output=seen.append
    )
    assert result.success, result.error
    assert (result.model, result.provider, result.cached_files) == ("gpt-4o", "oai", ["a.py"])
    assert "".join(o.data for o in seen if o.type == "stdout") == result.output == DEFAULT_REPLY
    assert SECRET not in repr(result)

    again = ccw.execute_litellm_endpoint(
        prompt="@a.py Review", endpoint_id="gpt", base_dir=isolated
    )
    assert again.success and again.cache_used

    fresh = ccw.execute_litellm_endpoint(
        prompt="@a.py Review", endpoint_id="gpt", base_dir=isolated, enable_cache=False
    )
    assert fresh.success and not fresh.cache_used


def test_execute_litellm_endpoint_reports_failures_as_results(isolated: Path) -> None:
    result = ccw.execute_litellm_endpoint(prompt="hi", endpoint_id="nope", base_dir=isolated)
    assert not result.success and result.exit_code == 4
    assert "endpoint not found: nope" in (result.error or "")
    with pytest.raises(ccw.CcwError):
        ccw.execute_litellm_endpoint(prompt="  ", endpoint_id="local", base_dir=isolated)


@pytest.mark.parametrize(
    ("prompt", "patterns"),
    [
        ("no patterns, mail bob@example.com.", []),
        ("@src/**/*.py and @!src/**/test_*.py, please", ["src/**/*.py", "!src/**/test_*.py"]),
        ('(see @"docs/a b/*.md")', ["docs/a b/*.md"]),
        ("@app/[id]/page.tsx.", ["app/[id]/page.tsx"]),
    ],
)
def test_extract_patterns(prompt: str, patterns: list[str]) -> None:
    assert ccw.extract_patterns(prompt) == patterns
