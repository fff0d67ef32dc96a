"""Per-call cost of the Router path: a plain call, a call over two keys (LiteLLM's Router, the
key health state read and written), and a bare ``litellm.completion``, against one loopback
test provider in one process, round-robin, so that the ratios share the machine's noise.

    .venv/bin/python bench/bench_router.py [--calls 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.provider_server import ProviderServer

from ccw.config.schema import Config
from ccw.exec.key_state import KeyStates
from ccw.exec.litellm_call import complete, load_litellm
from ccw.exec.target import resolve_target

MESSAGES = [{"role": "user", "content": "hello"}]


def _config(base: str) -> Config:
    keys = [
        {"id": "a", "key": "sk-bench-key-aaaaaaaa", "weight": 3},
        {"id": "b", "key": "sk-bench-key-bbbbbbbb", "weight": 1},
    ]
    return Config.model_validate(
        {
            "providers": [
                {"id": "one", "type": "openai", "apiBase": base, "apiKey": "sk-bench-key-single"},
                {
                    "id": "two",
                    "type": "openai",
                    "apiBase": base,
                    "apiKey": "",
                    "apiKeys": keys,
                    "routingStrategy": "weighted",
                },
            ],
            "endpoints": [
                {"id": "plain", "providerId": "one", "model": "m"},
                {"id": "routed", "providerId": "two", "model": "m"},
            ],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    litellm = load_litellm()
    with ProviderServer() as srv, tempfile.TemporaryDirectory() as tmp:
        config = _config(srv.url + "/v1")
        plain = resolve_target(config, "plain")
        routed = resolve_target(config, "routed")
        states = KeyStates(Path(tmp) / "health.json")
        runs: dict[str, Any] = {
            "bare litellm.completion": lambda: litellm.completion(
                model="openai/m",
                messages=MESSAGES,
                api_key="k",
                api_base=srv.url + "/v1",
                max_tokens=16,
                num_retries=0,
                max_retries=0,
            ),
            "ccw plain call": lambda: complete(plain, MESSAGES, stream=False),
            "ccw two keys (Router only)": lambda: complete(routed, MESSAGES, stream=False),
            "ccw two keys (Router + state)": lambda: complete(
                routed, MESSAGES, stream=False, states=states
            ),
        }
        for run in runs.values():  # warm up: clients, the Router, the price map
            run()
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.calls):
            for name, run in runs.items():
                started = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - started)
    floor = statistics.median(times["bare litellm.completion"])
    print(f"{'path':32} {'median ms':>10} {'p90 ms':>8} {'x bare':>7}")
    for name, values in times.items():
        median = statistics.median(values)
        p90 = sorted(values)[int(len(values) * 0.9)]
        print(f"{name:32} {median * 1000:10.2f} {p90 * 1000:8.2f} {median / floor:7.2f}")


if __name__ == "__main__":
    main()
