"""One implementation: ``ccw serve`` as a user starts it, and the CLI, on the same project."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunCcw
from tests.fakes.ports import free_port
from tests.server.conftest import API


@pytest.fixture
def served(project: Path, ccw_env: dict[str, str]) -> Iterator[httpx.Client]:
    """``ccw serve`` in a subprocess, as a user runs it; the client talks to it."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ccw", "serve", "--port", str(port)],
        cwd=project,
        env=ccw_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, trust_env=False)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.get(f"{API}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                _, err = process.communicate(timeout=5)
                raise RuntimeError(f"ccw serve did not start: {err}")
            time.sleep(0.05)
        yield client
    finally:
        client.close()
        process.terminate()
        process.communicate(timeout=10)  # reads both pipes to their end and closes them


def test_cli_changes_show_in_the_api_and_back(served: httpx.Client, run_ccw: RunCcw) -> None:
    added = run_ccw(
        "provider", "add", "--type", "openai", "--id", "from-cli", "--api-key", "${OPENAI_API_KEY}"
    )
    assert added.returncode == 0, added.stderr
    shown = served.get(f"{API}/providers/from-cli")
    assert shown.status_code == 200 and shown.json()["apiKey"] == "${OPENAI_API_KEY}"

    via_api = served.post(
        f"{API}/endpoints", json={"id": "from-api", "providerId": "from-cli", "model": "gpt-4o"}
    )
    assert via_api.status_code == 201
    listed = run_ccw("endpoint", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "from-api" in [e["id"] for e in json.loads(listed.stdout)["endpoints"]]

    removed = run_ccw("provider", "remove", "from-cli")
    assert removed.returncode == 0, removed.stderr
    assert served.get(f"{API}/providers/from-cli").status_code == 404
    assert served.get(f"{API}/endpoints/from-api").status_code == 404


def test_concurrent_edits_from_page_and_cli_lose_nothing(
    served: httpx.Client, run_ccw: RunCcw
) -> None:
    def via_api(n: int) -> int:
        body = {"id": f"api-{n}", "type": "custom", "apiBase": "http://127.0.0.1:9/v1"}
        return served.post(f"{API}/providers", json=body).status_code

    def via_cli(n: int) -> int:
        return run_ccw("provider", "add", "--type", "ollama", "--id", f"cli-{n}").returncode

    with ThreadPoolExecutor(max_workers=6) as pool:
        api_codes = pool.map(via_api, range(12))
        cli_codes = pool.map(via_cli, range(4))
        assert list(api_codes) == [201] * 12
        assert list(cli_codes) == [0] * 4
    ids = {p["id"] for p in served.get(f"{API}/providers").json()["providers"]}
    assert {f"api-{n}" for n in range(12)} <= ids
    assert {f"cli-{n}" for n in range(4)} <= ids


def test_a_busy_port_is_one_readable_error(run_ccw: RunCcw) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        refused = run_ccw("serve", "--port", str(busy.getsockname()[1]))
    assert refused.returncode == 2
    assert "cannot listen on 127.0.0.1" in refused.stderr
    assert "Traceback" not in refused.stderr
