"""The warm path, run by hand: ``python bench/bench_warm.py [--runs 7] [--calls 10000]``.

Against one loopback OpenAI-compatible test server, in one run on this machine:
- ``ccw cli -p hi --model e`` through a warm ``ccw serve --warm-only`` (from the fast entry,
  which sends a plain call without loading Typer or pydantic, and from the full app, as a
  call the fast entry does not read would go), and in-process (``CCW_WARM=off``): time to
  the first answer byte and total;
- beside ``curl`` of the same streaming request (the floor) and ``llm`` configured with the
  same server as an extra OpenAI model (``LLM_LOAD_PLUGINS=''``);
- the warm server's memory (RSS) idle after its first call, and after ``--calls`` more
  calls sent over its socket by the client library (the goal: no growth beyond 10%).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.provider_server import ProviderServer  # noqa: E402

KEY = "sk-bench-0123456789"


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(seconds to the first stdout byte, seconds in all) for one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,  # as at a terminal: nothing piped in
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.read(1)
    first = time.perf_counter() - start
    _, err = proc.communicate()
    total = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with {proc.returncode}: {err.decode()[-500:]}")
    return first, total


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmRSS")


def setup(folder: Path, url: str) -> tuple[Path, dict[str, str]]:
    project = folder / "p"
    config = project / ".ccw/storage/config/litellm-api-config.json"
    config.parent.mkdir(parents=True)
    provider = {"id": "p", "type": "openai", "apiKey": "${BENCH_KEY}", "apiBase": url + "/v1"}
    config.write_text(
        json.dumps(
            {
                "providers": [provider],
                "endpoints": [{"id": "e", "providerId": "p", "model": "gpt-4o"}],
                "defaultEndpoint": "e",
            }
        )
    )
    llm_home = folder / "llm"
    llm_home.mkdir()
    (llm_home / "extra-openai-models.yaml").write_text(
        f"- model_id: bench\n  model_name: gpt-4o\n  api_base: {url}/v1\n  api_key_name: bench\n"
    )
    (llm_home / "keys.json").write_text(json.dumps({"bench": KEY}))
    env = {
        **os.environ,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_OFFLINE_MODE": "true",
        "CCW_DATA_DIR": str(folder / "data"),
        "CCW_USER_CONFIG_DIR": str(folder / "user"),
        "CCW_RUNTIME_DIR": str(folder / "run"),
        "BENCH_KEY": KEY,
        "LLM_USER_PATH": str(llm_home),
        "LLM_LOAD_PLUGINS": "",
    }
    return project, env


def start_warm(project: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    os.environ["CCW_RUNTIME_DIR"] = env["CCW_RUNTIME_DIR"]
    from ccw.warm import client

    log = (project.parent / "warm.log").open("wb")  # a crash's stack lands here
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccw", "serve", "--warm-only"],
        cwd=project,
        env={**env, "PYTHONFAULTHANDLER": "1"},
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    deadline = time.monotonic() + 120
    while client.request_status(0.5) is None:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("the warm server did not start")
        time.sleep(0.05)
    return proc


def many_calls(project: Path, env: dict[str, str], count: int) -> float:
    """``count`` calls through the client library (what ``ccw cli`` sends); seconds taken."""
    for name in ("CCW_DATA_DIR", "CCW_USER_CONFIG_DIR", "BENCH_KEY"):
        os.environ[name] = env[name]
    from ccw.exec import events
    from ccw.exec.run import RunOptions
    from ccw.warm import client

    options = RunOptions(prompt="hi", model="e", cwd=project)
    start = time.perf_counter()
    for n in range(count):
        result = client.run(options, events.ignore)
        if result is None or not result.success:
            reason = result.error if result is not None else "not taken"
            log = project.parent / "warm.log"
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise SystemExit(f"call {n} of {count} was not served warm: {reason}\n{tail}")
    return time.perf_counter() - start


def report(samples: dict[str, list[tuple[float, float]]], runs: int) -> None:
    first = {k: statistics.median(s[0] for s in v) for k, v in samples.items()}
    total = {k: statistics.median(s[1] for s in v) for k, v in samples.items()}
    print(f"{'command':22} {'first byte':>11} {'total':>9}   (median of {runs})")
    for label in samples:
        print(f"{label:22} {first[label] * 1000:8.0f} ms {total[label] * 1000:6.0f} ms")
    for label in ("ccw cli, warm", "ccw cli, warm, full app"):
        print(
            f"{label}: first byte {(first[label] - first['curl']) * 1000:+.0f} ms from curl's "
            f"(goal: within 100 ms); llm / it: {total['llm'] / total[label]:.1f}x total "
            f"(goal: 5x), {first['llm'] / first[label]:.1f}x first byte"
        )
    local = total["ccw cli, in-process"]
    print(f"in-process total / warm total: {local / total['ccw cli, warm']:.1f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=10_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ccw-bw-"))
    try:
        with ProviderServer() as server:
            project, env = setup(folder, server.url)
            call = ["cli", "-p", "hi", "--model", "e"]
            ccw = [sys.executable, "-m", "ccw", *call]
            full_app = [sys.executable, "-c", "from ccw.cli.app import main; main()", *call]
            body = json.dumps(
                {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
            )
            curl = [
                "curl", "-sSN", f"{server.url}/v1/chat/completions",
                "-H", f"Authorization: Bearer {KEY}", "-H", "Content-Type: application/json",
                "-d", body,
            ]  # fmt: skip
            llm = [str(Path(sys.executable).with_name("llm")), "-m", "bench", "hi"]
            warm = start_warm(project, env)
            try:
                timed(ccw, project, env)  # the server's first call
                imported = subprocess.run(
                    [sys.executable, "-X", "importtime", *ccw[1:]],
                    cwd=project,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                ).stderr
                if re.search(r"\|\s+typer$", imported, re.MULTILINE):
                    raise SystemExit("the warm call did not take the fast entry (Typer loaded)")
                idle = rss_mb(warm.pid)
                commands = {
                    "curl": (curl, env),
                    "ccw cli, warm": (ccw, env),
                    "ccw cli, warm, full app": (full_app, env),
                    "ccw cli, in-process": (ccw, {**env, "CCW_WARM": "off"}),
                    "llm": (llm, env),
                }
                samples: dict[str, list[tuple[float, float]]] = {k: [] for k in commands}
                for _ in range(args.runs):  # interleaved: the machine's noise hits all alike
                    for label, (cmd, cmd_env) in commands.items():
                        samples[label].append(timed(cmd, project, cmd_env))
                report(samples, args.runs)
                took = many_calls(project, env, args.calls)
                after = rss_mb(warm.pid)
            finally:
                warm.terminate()
                warm.wait(30)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"warm server RSS: {idle:.0f} MB idle, {after:.0f} MB after {args.calls} more calls "
        f"({(after / idle - 1) * 100:+.1f}%), {args.calls / took:.0f} calls/s through the socket"
    )


if __name__ == "__main__":
    main()
