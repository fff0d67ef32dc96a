"""``ccw cli --fit`` through the real CLI against a test provider on 127.0.0.1: a pack too
large for the window stops before sending (exit 2, naming --fit) unless a fallback takes it;
--fit sends named files whole and the rest outlined, and --dry-run --fit lists what it cut."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import endpoint, provider, write_config
from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer

BODY = "\n".join(f"    value_{i} = compute({i}) * 2" for i in range(70))
PROMPT = "@app/main.py @app/*.py Explain main"
MODEL_PATHS = ("/v1/chat/completions", "/chat/completions")


def _module(name: str, imports: str = "") -> str:
    functions = "".join(
        f'def {name}_{k}(a, b):\n    """Doc of {name}_{k}."""\n{BODY}\n    return a\n\n'
        for k in range(3)
    )
    return f'"""Module {name}."""\n{imports}\n\n{functions}'


@pytest.fixture
def sources(project: Path) -> Path:
    app = project / "app"
    app.mkdir()
    (app / "main.py").write_text(
        "from app import used\n\ndef main():\n    return used.used_0(1, 2)\n"
    )
    (app / "used.py").write_text(_module("used"))
    for name in ("alpha", "beta", "gamma"):
        (app / f"{name}.py").write_text(_module(name))
    return project


def _config(project: Path, server: ProviderServer, **small: Any) -> None:
    write_config(
        project,
        {
            "version": 1,
            "providers": [
                provider(
                    "cus",
                    "custom",
                    server.url + "/v1",
                    llmModels=[
                        {"id": "small", "capabilities": {"contextWindow": 3000}},
                        {"id": "roomy", "capabilities": {"contextWindow": 100000}},
                    ],
                ),
            ],
            "endpoints": [
                endpoint("small", "cus", "small", maxTokens=200, **small),
                endpoint("roomy", "cus", "roomy", maxTokens=200),
            ],
            "defaultEndpoint": "small",
        },
    )


def _model_calls(server: ProviderServer) -> list[Any]:
    return [r for r in server.requests if r.path in MODEL_PATHS]


def _sent(server: ProviderServer) -> str:
    content = _model_calls(server)[-1].body["messages"][-1]["content"]
    return content if isinstance(content, str) else "".join(b["text"] for b in content)


def test_a_pack_larger_than_the_window_stops_before_sending(
    run_ccw: RunCcw, sources: Path, server: ProviderServer
) -> None:
    _config(sources, server)
    done = run_ccw("cli", "-p", PROMPT)
    assert done.returncode == 2, done.stderr
    assert "takes 3,000: nothing was sent" in done.stderr
    assert "--fit" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""
    as_json = json.loads(run_ccw("cli", "-p", PROMPT, "--json").stdout)
    assert as_json["errorKind"] == "context_too_large" and as_json["exitCode"] == 2
    assert _model_calls(server) == []


def test_a_fallback_with_room_takes_the_pack_instead(
    run_ccw: RunCcw, sources: Path, server: ProviderServer
) -> None:
    _config(sources, server, fallbacks=["roomy"])
    done = run_ccw("cli", "-p", PROMPT, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["endpointId"] == "roomy" and result["fallbackFrom"] == ["small"]
    assert _model_calls(server)[-1].body["model"] == "roomy"
    assert "value_69" in _sent(server)  # the whole pack


def test_fit_sends_named_files_whole_and_the_rest_outlined(
    run_ccw: RunCcw, sources: Path, server: ProviderServer
) -> None:
    _config(sources, server)
    server.echo = True
    done = run_ccw("cli", "-p", PROMPT, "--fit", "--json")
    assert done.returncode == 0, done.stderr
    assert "--fit: the pack shrank from about" in done.stderr
    sent = _sent(server)
    assert (sources / "app" / "main.py").read_text() in sent
    assert (sources / "app" / "used.py").read_text() in sent  # main imports it: whole
    for name in ("alpha", "beta", "gamma"):
        part = sent.split(f'path="app/{name}.py"', 1)[1].split("</file>", 1)[0]
        assert "# [ccw --fit] signatures only" in part
        assert f"def {name}_2(a, b):" in part and f'"""Doc of {name}_2."""' in part
        assert "value_69" not in part
    assert len(sent) // 4 < 3000
    result = json.loads(done.stdout)
    assert result["success"] is True
    names = ("main", "alpha", "beta", "gamma", "used")  # the pack's own order
    assert result["cachedFiles"] == [f"app/{name}.py" for name in names]

    again = run_ccw("cli", "-p", PROMPT, "--fit", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["cacheUsed"] is True  # the fitted pack, reused
    assert _sent(server) == sent


def test_dry_run_fit_lists_what_it_shortened_and_sends_nothing(
    run_ccw: RunCcw, sources: Path, server: ProviderServer
) -> None:
    _config(sources, server)
    done = run_ccw("cli", "-p", PROMPT, "--fit", "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    fit = plan["fit"]
    assert fit["named"] == ["app/main.py"]
    assert [s["path"] for s in fit["shortened"]] == ["app/alpha.py", "app/beta.py", "app/gamma.py"]
    assert all(s["kept"].startswith("signatures only (") for s in fit["shortened"])
    assert fit["leftOut"] == []
    assert fit["tokens"] <= fit["budget"] < fit["originalTokens"]
    assert plan["promptTokens"] <= plan["contextWindow"] == 3000
    assert plan["planWarnings"] == []

    text = run_ccw("cli", "-p", PROMPT, "--fit", "--dry-run")
    assert text.returncode == 0, text.stderr
    assert "app/alpha.py\tsignatures only (" in text.stdout
    assert (
        "1 file whole" not in text.stdout
        and "2 files whole, 3 shortened, 0 left out" in text.stdout
    )
    assert _model_calls(server) == []

    plain = run_ccw("cli", "-p", PROMPT, "--dry-run")
    assert "shrink the pack with --fit" in plain.stderr


def test_fit_with_unknown_window_warns_and_sends_the_pack(
    run_ccw: RunCcw, sources: Path, server: ProviderServer
) -> None:
    write_config(
        sources,
        {
            "version": 1,
            "providers": [provider("cus", "custom", server.url + "/v1")],
            "endpoints": [endpoint("mystery", "cus", "mystery-model", maxTokens=50)],
            "defaultEndpoint": "mystery",
        },
    )
    done = run_ccw("cli", "-p", PROMPT, "--fit", "--json")
    assert done.returncode == 0, done.stderr
    assert "context window of mystery-model is not known" in done.stderr
    assert "value_69" in _sent(server)


def test_fit_cannot_shorten_named_files(
    run_ccw: RunCcw, sources: Path, server: ProviderServer
) -> None:
    _config(sources, server)
    named = "@app/used.py @app/alpha.py @app/beta.py Compare them"
    for extra in ((), ("--dry-run",)):
        done = run_ccw("cli", "-p", named, "--fit", *extra)
        assert done.returncode == 2, done.stderr
        assert "the files named explicitly (app/used.py, app/alpha.py, app/beta.py)" in done.stderr
        assert "name fewer files" in done.stderr and "Traceback" not in done.stderr
    assert _model_calls(server) == []
