"""``ccw provider test`` names the same root cause as a call (DNS, refused) and sends the
headers a call sends, ``advancedSettings.customHeaders`` included."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import provider, write_config
from tests.conftest import RunCcw
from tests.fakes.ports import free_port
from tests.fakes.provider_server import ProviderServer

KEY = "sk-probe-causes-0123456789abcdef"


def _test(run_ccw: RunCcw, project: Path, entry: dict[str, object]) -> dict[str, object]:
    write_config(project, {"providers": [entry]})
    done = run_ccw("provider", "test", str(entry["id"]), "--json", env={"CCW_PROBE_KEY": KEY})
    assert KEY not in done.stdout + done.stderr
    data: dict[str, object] = json.loads(done.stdout)
    return data


def test_a_name_that_does_not_resolve_is_named_as_such(run_ccw: RunCcw, project: Path) -> None:
    entry = provider("far", "openai", "http://no-such-host.invalid/v1", apiKey="${CCW_PROBE_KEY}")
    result = _test(run_ccw, project, entry)
    assert result["success"] is False and result["errorKind"] == "unreachable"
    error = str(result["error"])
    assert "DNS lookup of no-such-host.invalid failed" in error
    assert "ccw provider update far --api-base URL" in error


def test_a_closed_port_is_named_as_refused(run_ccw: RunCcw, project: Path) -> None:
    port = free_port()
    entry = provider("near", "openai", f"http://127.0.0.1:{port}/v1", apiKey="${CCW_PROBE_KEY}")
    result = _test(run_ccw, project, entry)
    assert result["success"] is False
    assert f"connection refused by 127.0.0.1:{port}" in str(result["error"])


def test_advanced_settings_headers_reach_the_provider(
    run_ccw: RunCcw, project: Path, server: ProviderServer
) -> None:
    entry = provider(
        "adv",
        "openai",
        server.url + "/v1",
        apiKey="${CCW_PROBE_KEY}",
        customHeaders={"X-Top": "top-level"},
        advancedSettings={"customHeaders": {"X-Team": "platform", "X-Top": "advanced"}},
    )
    result = _test(run_ccw, project, entry)
    assert result["success"] is True, result
    headers = server.requests[-1].headers
    assert (headers["x-team"], headers["x-top"]) == ("platform", "top-level")
