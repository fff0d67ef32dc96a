"""Dashboard API throughput: requests/s and latency percentiles with concurrent clients.

Starts ``ccw serve`` on 127.0.0.1 over a throw-away project holding a realistic config
(20 providers, 40 endpoints) and a cache with a few entries, then drives each route from
N keep-alive connections, beside the framework floor: a bare FastAPI app on uvicorn (h11,
as ``ccw serve``) returning the same bytes. Then packs a large set of files into the cache
and measures ``/cache/stats`` again (it should not depend on the cache's size). Run by hand:

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


FLOOR = """
import json, sys
import uvicorn
from fastapi import FastAPI, Response

bodies = json.load(open(sys.argv[2]))
app = FastAPI()

def route(body: bytes):
    async def answer() -> Response:
        return Response(content=body, media_type="application/json")
    return answer

for path, body in bodies.items():
    app.get(path)(route(body.encode()))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), http="h11", log_level="warning",
            access_log=False)
"""


def _fetch(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as answer:
        return str(answer.read().decode())


def _start_floor(folder: Path, bodies: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    script, data = folder / "floor.py", folder / "floor.json"
    script.write_text(FLOOR)
    data.write_text(json.dumps(bodies))
    process = subprocess.Popen([sys.executable, str(script), str(port), str(data)])
    _wait(port, next(iter(bodies)), process)
    return process


def _wait(port: int, path: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            _fetch(port, path)
            return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the server on port {port} did not start")


def _pack_large(root: Path, env: dict[str, str], files: int) -> None:
    big = root / "big"
    big.mkdir()
    for n in range(files):
        (big / f"part{n}.txt").write_text(f"line {n} of a large pack\n" * 1200)
    subprocess.run(
        [sys.executable, "-m", "ccw", "pack", "@big/**", "--output", str(root / "out.txt")],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )


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
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if _loaded(root, env):  # measured once the warm path's LiteLLM import is done
            return process
        time.sleep(0.5)
    process.kill()
    raise SystemExit("ccw serve did not start")


def _loaded(root: Path, env: dict[str, str]) -> bool:
    """Whether the server's warm path has imported LiteLLM (its import holds the GIL)."""
    done = subprocess.run(
        [sys.executable, "-m", "ccw", "serve", "status", "--json"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    return done.returncode == 0 and bool(json.loads(done.stdout).get("loaded"))


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


def _row(label: str, row: dict, floor: dict | None = None) -> str:
    ratio = f"{row['rps'] / floor['rps']:>7.2f}x" if floor else ""
    return (
        f"{label:<24} {row['requests']:>8} {row['rps']:>8.0f} "
        f"{row['p50']:>8.2f} {row['p99']:>8.2f} {row['mean']:>8.2f} {ratio}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=4000, help="per route")
    parser.add_argument("--seconds", type=float, default=15.0, help="per route, at most")
    parser.add_argument("--large-files", type=int, default=400, help="files of the large pack")
    args = parser.parse_args()
    lines: list[str] = []

    def measure(port: int, path: str) -> dict:
        return asyncio.run(_measure(port, path, args.clients, args.requests, args.seconds))

    with tempfile.TemporaryDirectory(prefix="ccw-bench-") as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        _write_project(root)
        env = {**os.environ, "HOME": tmp, "CCW_DATA_DIR": str(Path(tmp) / "data")}
        port, floor_port = _free_port(), _free_port()
        server = _start(root, env, port)
        floor = None
        try:
            bodies = {path: _fetch(port, path) for path in ROUTES}
            floor = _start_floor(Path(tmp), bodies, floor_port)
            for path in ROUTES:
                ours, bare = measure(port, path), measure(floor_port, path)
                lines.append(_row("floor " + bare["route"], bare))
                lines.append(_row("ccw " + ours["route"], ours, bare))
            _pack_large(root, env, args.large_files)
            stats = ROUTES[1]
            size = json.loads(_fetch(port, stats))["totalBytes"]
            floor.terminate()
            floor.wait(10)
            floor = _start_floor(Path(tmp), {stats: _fetch(port, stats)}, floor_port)
            ours, bare = measure(port, stats), measure(floor_port, stats)
            lines.append(f"-- with {size / 1e6:.1f} MB in the cache:")
            lines.append(_row("floor /cache/stats", bare))
            lines.append(_row("ccw /cache/stats", ours, bare))
        finally:
            for process in (server, floor):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=10)
    print(f"127.0.0.1, {args.clients} keep-alive clients, {os.cpu_count()} CPUs")
    print(
        f"{'route':<24} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}"
        "  of floor"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
