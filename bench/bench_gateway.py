"""The gateway beside LiteLLM's own proxy: requests/s and added latency, streaming.

One instant test provider (``tests/fakes/provider_server.py``) on 127.0.0.1; 16 concurrent
clients stream ``POST /v1/chat/completions`` to it directly (the floor), through
``ccw serve``'s gateway, and through ``litellm --config`` (its own venv, same provider, same
run). Added latency is a percentile through the server minus the same percentile direct.
Run by hand:

    .venv/bin/python bench/bench_gateway.py [--clients 16] [--seconds 15]

The client is a minimal HTTP/1.1 reader on asyncio streams (one keep-alive connection per
client), so that on a small machine the numbers measure the servers, not a client library.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PROXY = ROOT / ".venv-proxy" / "bin" / "litellm"
BODY = {
    "model": "gpt",
    "stream": True,
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Say hello in five words."}],
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes, body: bytes
) -> None:
    """One streamed call on a keep-alive connection, read to the end of its chunked body."""
    writer.write(head + body)
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"answer: {status!r}")
    chunked = False
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        elif name.lower() == "content-length":
            length = int(value)
    if not chunked:
        await reader.readexactly(length)
        return
    while True:
        size = int((await reader.readline()).strip(), 16)
        await reader.readexactly(size + 2)
        if size == 0:
            return


async def _client(port: int, path: str, token: str, stop_at: float, latencies: list[float]) -> None:
    body = json.dumps(BODY).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"User-Agent: bench/1\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            await _request(reader, writer, head, body)
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


async def _drive(port: int, path: str, token: str, clients: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    stop_at = time.monotonic() + seconds
    await asyncio.gather(*(_client(port, path, token, stop_at, latencies) for _ in range(clients)))
    return latencies


def _measure(name: str, port: int, path: str, token: str, args: argparse.Namespace) -> dict:
    asyncio.run(_drive(port, path, token, args.clients, 2.0))  # warm up
    started = time.perf_counter()
    latencies = asyncio.run(_drive(port, path, token, args.clients, args.seconds))
    took = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "name": name,
        "requests": len(latencies),
        "rps": len(latencies) / took,
        "p50": cuts[49] * 1000,
        "p99": cuts[98] * 1000,
    }


def _wait_http(url: str, seconds: float, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(request, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds:g} s")


def _start_ccw(base: str, tmp: Path) -> tuple[subprocess.Popen[bytes], int, str]:
    project = tmp / "project"
    config = project / ".ccw" / "storage" / "config" / "litellm-api-config.json"
    config.parent.mkdir(parents=True)
    config.write_text(
        json.dumps(
            {
                "version": 1,
                "providers": [
                    {"id": "p", "type": "openai", "apiBase": base, "apiKey": "${BENCH_KEY}"}
                ],
                "endpoints": [{"id": "gpt", "providerId": "p", "model": "gpt-4o"}],
                "defaultEndpoint": "gpt",
            }
        )
    )
    env = {
        **os.environ,
        "BENCH_KEY": "sk-bench-key-0123456789",
        "CCW_DATA_DIR": str(tmp / "data"),
        "CCW_USER_CONFIG_DIR": str(tmp / "user"),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    ccw = [sys.executable, "-m", "ccw"]
    token = subprocess.run(
        [*ccw, "serve", "token"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    port = _free_port()
    server = subprocess.Popen(
        [*ccw, "serve", "--port", str(port), "--no-warm"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_http(f"http://127.0.0.1:{port}/v1/models", 60, {"Authorization": f"Bearer {token}"})
    return server, port, token


def _start_proxy(base: str, tmp: Path) -> tuple[subprocess.Popen[bytes], int, str]:
    config = tmp / "proxy.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: gpt\n"
        "    litellm_params:\n"
        "      model: openai/gpt-4o\n"
        f"      api_base: {base}\n"
        "      api_key: sk-bench-key-0123456789\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
    )
    key = "sk-" + secrets.token_hex(16)
    port = _free_port()
    env = {**os.environ, "LITELLM_MASTER_KEY": key, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    server = subprocess.Popen(
        [str(PROXY), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_http(f"http://127.0.0.1:{port}/health/liveliness", 90)
    return server, port, key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    from tests.fakes.provider_server import ProviderServer

    rows: list[dict] = []
    with ProviderServer() as provider, tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        base = provider.url + "/v1"
        port = int(provider.url.rsplit(":", 1)[1])
        rows.append(_measure("direct (floor)", port, "/v1/chat/completions", "x", args))
        servers = []
        try:
            ccw, ccw_port, token = _start_ccw(base, tmp)
            servers.append(ccw)
            rows.append(_measure("ccw gateway", ccw_port, "/v1/chat/completions", token, args))
            ccw.terminate()
            if PROXY.exists():
                proxy, proxy_port, key = _start_proxy(base, tmp)
                servers.append(proxy)
                rows.append(
                    _measure("litellm proxy", proxy_port, "/v1/chat/completions", key, args)
                )
            else:
                print(f"no LiteLLM proxy at {PROXY} (make setup-dev builds it)")
        finally:
            for server in servers:
                server.terminate()
                server.wait(10)
    floor = rows[0]
    print(f"{args.clients} streaming clients, {args.seconds:g} s each")
    print(f"{'':16} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'+p50 ms':>8} {'+p99 ms':>8}")
    for row in rows:
        print(
            f"{row['name']:16} {row['rps']:8.1f} {row['p50']:8.1f} {row['p99']:8.1f} "
            f"{row['p50'] - floor['p50']:8.1f} {row['p99'] - floor['p99']:8.1f}"
        )


if __name__ == "__main__":
    main()
