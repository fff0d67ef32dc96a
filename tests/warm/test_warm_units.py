"""In-process layer under the warm path: the per-call key overlay, the wire format, the
identity check, and the dashboard's shared config and cache stats."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import fields
from pathlib import Path

import pytest

from ccw.config.secrets import MissingKeyError, caller_environment, lookup, resolve
from ccw.context.options import PackOptions
from ccw.exec import events
from ccw.exec.run import RunOptions
from ccw.result import ExecutionResult, Usage
from ccw.warm import protocol


def test_caller_values_replace_this_process_environment_for_this_context_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WARM_KEY", "server-value")
    seen: list[str | None] = []
    with caller_environment({"WARM_KEY": "caller-value"}):
        assert resolve("Bearer ${WARM_KEY}") == "Bearer caller-value"
        other = threading.Thread(target=lambda: seen.append(lookup("WARM_KEY")))
        other.start()
        other.join()
    assert seen == ["server-value"]  # another thread (another call) never sees it
    assert lookup("WARM_KEY") == "server-value"


def test_a_variable_the_caller_lacks_is_missing_even_if_the_server_has_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WARM_KEY", "server-value")
    with caller_environment({}), pytest.raises(MissingKeyError, match="WARM_KEY"):
        resolve("${WARM_KEY}")


def test_options_and_results_cross_the_wire_unchanged(tmp_path: Path) -> None:
    options = RunOptions(
        prompt="review @src/**/*.py",
        model="gpt",
        input="piped\n",
        system="be brief",
        model_options={"temperature": 0.2, "stop": ["x"]},
        mode="write",
        cwd=tmp_path,
        packing=PackOptions(include_dirs=(tmp_path / "lib",), exclude_dirs=("dist",)),
        stream=False,
        timeout=12.5,
        config=tmp_path / "c.json",
        call_id="named",
        resume="",
    )
    wire = json.loads(protocol.encode({"o": protocol.options_to_dict(options)}))["o"]
    assert protocol.options_from_dict(wire) == options
    result = ExecutionResult(
        success=False,
        output="partial",
        usage=Usage(3, 4, 1),
        cost=None,
        error="boom",
        fix="retry",
        exit_code=13,
        fallback_from=["a"],
        warnings=["w"],
    )
    assert protocol.result_from_dict(json.loads(json.dumps(result.to_dict()))) == result
    for event in (
        events.Text("a"),
        events.Status("s"),
        events.Warning("w"),
        events.Progress(1, 2),
    ):
        assert protocol.event_from_dict(protocol.event_to_dict(event)) == event


def test_identity_names_what_differs(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text("{}")
    mine = protocol.identity_for([config])
    assert mine.mismatch(mine) is None
    older = protocol.Identity(**{**mine.to_dict(), "version": "0.0.1"})
    assert "runs ccw 0.0.1" in (older.mismatch(mine) or "")
    elsewhere = protocol.Identity(**{**mine.to_dict(), "data_dir": "/elsewhere"})
    assert "data dir" in (elsewhere.mismatch(mine) or "")
    config.write_text('{"defaultEndpoint": "x"}')  # the caller saw the file before this
    assert "config files differ" in (mine.mismatch(mine) or "")


def test_caller_values_are_the_configs_references_and_usual_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.json"
    config.write_text('{"providers": [{"apiKey": "${TEAM_KEY}", "apiBase": "${BASE:-x}"}]}')
    monkeypatch.setenv("TEAM_KEY", "k1")
    monkeypatch.setenv("OPENAI_API_KEY", "k2")
    monkeypatch.setenv("UNRELATED_SECRET", "no")
    values = protocol.caller_values([config, tmp_path / "absent.json"])
    assert values["TEAM_KEY"] == "k1"
    assert values["OPENAI_API_KEY"] == "k2"
    assert "UNRELATED_SECRET" not in values and "BASE" not in values


def test_dashboard_config_is_parsed_once_per_change(project: Path) -> None:
    from ccw.config.store import ConfigStore
    from ccw.server.state import ServerState

    path = project / ".ccw/storage/config/litellm-api-config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"version": 1, "defaultEndpoint": "a"}))
    shared = ServerState(ConfigStore(path), project)
    first = shared.config()
    assert shared.config() is first  # no parse, no copy
    path.write_text(json.dumps({"version": 1, "defaultEndpoint": "bb"}))
    assert shared.config().default_endpoint == "bb"


def test_dashboard_cache_stats_follow_the_database(project: Path) -> None:
    from ccw.config.store import ConfigStore
    from ccw.server.state import ServerState

    shared = ServerState(ConfigStore(project / "c.json"), project)
    store = shared.cache()
    before = shared.cache_stats()
    assert before == {**store.stats(), "expired": 0}
    with sqlite3.connect(store.path) as conn:  # another process's write
        conn.execute(
            "INSERT INTO chunks (pack, seq, hash, size, data) VALUES (?, 0, ?, 1000, ?)",
            (7, "ab" * 32, b"c" * 1000),
        )
    after = shared.cache_stats()
    assert after["totalBytes"] == store.stats()["totalBytes"] >= before["totalBytes"] + 1000
    store.clear()
    assert shared.cache_stats()["totalBytes"] == store.stats()["totalBytes"] < 1000


def test_every_result_field_crosses_the_wire() -> None:
    """Each field set (a field added later and not carried fails here)."""
    from dataclasses import fields

    result = ExecutionResult(
        success=True,
        output="answer",
        model="gpt-4o",
        provider="oai",
        cache_used=True,
        cached_files=["a.py"],
        error="e",
        fix="f",
        error_kind="k",
        exit_code=3,
        endpoint_id="gpt",
        tool="claude",
        mode="write",
        usage=Usage(10, 5, 2, 3, "1h"),
        cost=0.5,
        cost_uncached=0.75,
        cost_source="litellm",
        cache_miss="pack changed",
        pack_key="sha256:abc",
        duration_ms=42,
        id="call-1",
        warnings=["w"],
        finish_reason="length",
        parent_id="call-0",
        conversation_id="call-0",
        deployment="oai/default",
        fallback_from=["other"],
    )
    blank = ExecutionResult(success=False)
    unset = [f.name for f in fields(result) if getattr(result, f.name) == getattr(blank, f.name)]
    assert unset == [], f"set these fields in the test: {unset}"
    assert protocol.result_from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_every_run_option_crosses_the_wire(tmp_path: Path) -> None:
    """Each option set to a value other than its default comes back equal (a field added
    later and not carried, as --max-cost once was, fails here)."""
    options = RunOptions(
        prompt="@a.py review",
        model="gpt",
        tool="litellm",
        input="piped",
        system="be brief",
        model_options={"temperature": 0.2},
        mode="write",
        cwd=tmp_path,
        packing=PackOptions(max_files=7, fit=True, use_cache=False, include_dirs=(tmp_path,)),
        stream=False,
        timeout=9.0,
        config=tmp_path / "c.json",
        call_id="named",
        resume="",
        pack=True,
        record=False,
        max_cost=0.25,
    )
    wire = json.loads(json.dumps(protocol.options_to_dict(options)))
    assert protocol.options_from_dict(wire) == options
    defaults = RunOptions(prompt="x")
    assert {
        f.name for f in fields(RunOptions) if getattr(options, f.name) == getattr(defaults, f.name)
    } == set()
