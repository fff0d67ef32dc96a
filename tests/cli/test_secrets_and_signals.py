"""A literal key never leaks from ``ccw cli``; Ctrl-C ends a call cleanly with exit 130."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.conftest import SECRET, endpoint, provider, write_config
from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer


def _files_holding(folder: Path, needle: bytes, skip: Path) -> list[Path]:
    return [
        path
        for path in folder.rglob("*")
        if path.is_file() and path != skip and needle in path.read_bytes()
    ]


def test_literal_key_is_warned_once_and_written_nowhere(
    run_ccw: RunCcw, project: Path, server: ProviderServer, tmp_path: Path
) -> None:
    config = write_config(
        project,
        {
            "providers": [provider("oai", "openai", server.url + "/v1", apiKey=SECRET)],
            "endpoints": [endpoint("gpt", "oai")],
            "defaultEndpoint": "gpt",
        },
    )
    (project / "notes.md").write_text("# Notes\nnothing secret here\n")
    first = run_ccw("cli", "-p", "@notes.md summarise", "--json")
    assert first.returncode == 0, first.stderr
    assert "literally" in first.stderr and "${OPENAI_API_KEY}" in first.stderr
    server.fail(401, times=1, message=f"Incorrect API key provided: {SECRET}")
    second = run_ccw("cli", "-p", "@notes.md summarise", "--json")
    assert second.returncode == 10
    assert "literally" not in second.stderr
    history = run_ccw("cli", "history", "--json")
    calls = json.loads(history.stdout)["calls"]
    assert len(calls) == 2
    detail = run_ccw("cli", "detail", calls[0]["id"], "--json")
    outputs = [first, second, history, detail]
    for done in outputs:
        assert SECRET not in done.stdout + done.stderr
    assert json.loads(first.stdout)["cachedFiles"] == ["notes.md"]
    assert _files_holding(tmp_path, SECRET.encode(), skip=config) == []


def test_ctrl_c_ends_the_call_with_130(
    project: Path, server: ProviderServer, ccw_env: dict[str, str]
) -> None:
    write_config(
        project,
        {
            "providers": [provider("oai", "openai", server.url + "/v1", apiKey="k-123")],
            "endpoints": [endpoint("gpt", "oai")],
            "defaultEndpoint": "gpt",
        },
    )
    server.slow(30)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccw", "cli", "-p", "hello"],
        cwd=project,
        env=ccw_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not any(r.method == "POST" for r in server.requests):
        assert time.monotonic() < deadline, "the call never reached the provider"
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "interrupted" in err
    assert "Traceback" not in err
