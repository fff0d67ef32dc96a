"""``ccw chat`` turn latency, run by hand: ``python bench/bench_chat.py``.

Against a loopback OpenAI-compatible server, in one run on this machine: the time from a
line typed in ``ccw chat`` to the end of its answer, for the first turn and the later ones,
beside a ``ccw cli`` process making the same call. The ratio later turn / ``ccw cli`` is what
keeping LiteLLM imported buys.
"""

from __future__ import annotations

import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.provider_server import DEFAULT_REPLY, ProviderServer  # noqa: E402

TURNS = 6
CLI_RUNS = 3


def _setup(folder: Path, url: str) -> dict[str, str]:
    config = folder / "p" / ".ccw" / "storage" / "config" / "litellm-api-config.json"
    config.parent.mkdir(parents=True)
    provider = {"id": "oai", "name": "oai", "type": "openai", "apiBase": url + "/v1"}
    config.write_text(
        json.dumps(
            {
                "providers": [{**provider, "apiKey": "${BENCH_KEY}", "enabled": True}],
                "endpoints": [{"id": "gpt", "name": "gpt", "providerId": "oai", "model": "gpt-4o"}],
                "defaultEndpoint": "gpt",
            }
        )
    )
    return {
        **os.environ,
        "BENCH_KEY": "sk-bench",
        "HOME": str(folder),
        "CCW_DATA_DIR": str(folder / "data"),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "TERM": "dumb",
        "NO_COLOR": "1",
    }


def _read_until(fd: int, text: str, seen: list[str]) -> None:
    while text not in seen[0]:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            raise SystemExit(f"timed out waiting for {text!r}")
        seen[0] += os.read(fd, 4096).decode("utf-8", "replace")


def chat_turns(cwd: Path, env: dict[str, str]) -> list[float]:
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccw", "chat"],
        cwd=cwd,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    seen = [""]
    _read_until(master, "> ", seen)
    times = []
    for turn in range(TURNS):
        seen[0] = ""
        started = time.perf_counter()
        os.write(master, f"turn {turn}\n".encode())
        _read_until(master, DEFAULT_REPLY, seen)
        _read_until(master, "> ", seen)
        times.append(time.perf_counter() - started)
    os.write(master, b"!quit\n")
    proc.wait(timeout=30)
    os.close(master)
    return times


def cli_calls(cwd: Path, env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(CLI_RUNS):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "ccw", "cli", "turn"],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=True,
        )
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    with ProviderServer() as server, tempfile.TemporaryDirectory() as tmp:
        env = _setup(Path(tmp), server.url)
        cwd = Path(tmp) / "p"
        turns = chat_turns(cwd, env)
        cli = cli_calls(cwd, env)
    later = statistics.median(turns[1:])
    one = statistics.median(cli)
    print(f"ccw chat, first turn:            {turns[0]:.2f} s")
    print(f"ccw chat, later turns (median):  {later:.3f} s")
    print(f"ccw cli, one call (median of {CLI_RUNS}): {one:.2f} s")
    print(f"later chat turn / ccw cli call:  {later / one:.2f}")


if __name__ == "__main__":
    main()
