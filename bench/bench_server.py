"""Dashboard API throughput: requests/s and latency percentiles with concurrent clients.

Starts ``ccw serve`` on 127.0.0.1 over a throw-away project holding a realistic config
(20 providers, 40 endpoints) and a cache with a few entries, then drives each route from
N keep-alive connections. Run by hand:

    .venv/bin/python bench/bench_server.py [--clients 8] [--requests 4000] [--seconds 15]

The client is a minimal HTTP/1.1 reader on asyncio streams, so that on a small machine
the numbers measure the server rather than the client library.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROUTES = ("/api/litellm-api/providers", "/api/litellm-api/cache/stats")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_project(root: Path) -> None:
    providers = [
        {
            "id": f"p{n}",
            "name": f"Provider {n}",
            "type": "openai",
            "apiKey": f"sk-bench-{n:04d}-abcdefghijklmnop",
            "apiBase": f"http://127.0.0.1:9/v{n}",
        }
        for n in range(20)
    ]
    endpoints = [
        {
            "id": f"e{n}",
            "name": f"Endpoint {n}",
            "providerId": f"p{n % 20}",
            "model": "gpt-4o",
            "cacheStrategy": {"enabled": True, "ttlMinutes": 60, "maxSizeKB": 512},
        }
        for n in range(40)
    ]
    config = root / ".ccw" / "storage" / "config" / "litellm-api-config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"version": 1, "providers": providers, "endpoints": endpoints}))
    for n in range(5):
        (root / f"file{n}.md").write_text(f"# file {n}\n" * 50)


def _start(root: Path, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    for pattern in ("@file0.md", "@file1.md", "@*.md"):
        subprocess.run(
            [sys.executable, "-m", "ccw", "pack", pattern],
            cwd=root,
            env=env,
            check=True,
            capture_output=True,
        )
    process = subprocess.Popen(
        [sys.executable, "-m", "ccw", "serve", "--port", str(port)], cwd=root, env=env
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/litellm-api/health"):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("ccw serve did not start")


async def _client(
    port: int, path: str, stop_at: float, budget: list[int], latencies: list[float]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    try:
        while budget[0] > 0 and time.perf_counter() < stop_at:
            budget[0] -= 1
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                raise SystemExit(f"{path} answered {status}")
    finally:
        writer.close()


async def _measure(port: int, path: str, clients: int, requests: int, seconds: float) -> dict:
    latencies: list[float] = []
    budget = [requests]
    warm: list[float] = []
    await _client(port, path, time.perf_counter() + 2, [50], warm)
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(*(_client(port, path, stop_at, budget, latencies) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return {
        "route": path.removeprefix("/api/litellm-api"),
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": pct(0.50),
        "p99": pct(0.99),
        "mean": statistics.fmean(latencies) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=4000, help="per route")
    parser.add_argument("--seconds", type=float, default=15.0, help="per route, at most")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ccw-bench-") as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        _write_project(root)
        env = {**os.environ, "HOME": tmp, "CCW_DATA_DIR": str(Path(tmp) / "data")}
        port = _free_port()
        server = _start(root, env, port)
        try:
            rows = [
                asyncio.run(_measure(port, path, args.clients, args.requests, args.seconds))
                for path in ROUTES
            ]
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"ccw serve on 127.0.0.1, {args.clients} keep-alive clients, {os.cpu_count()} CPUs")
    print(f"{'route':<14} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for row in rows:
        print(
            f"{row['route']:<14} {row['requests']:>8} {row['rps']:>8.0f} "
            f"{row['p50']:>8.2f} {row['p99']:>8.2f} {row['mean']:>8.2f}"
        )


if __name__ == "__main__":
    main()
