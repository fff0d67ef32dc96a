"""``ccw`` start-up and call overhead, run by hand: ``python bench/bench_cli.py``.

Measures, in one run on this machine:
- ``ccw --help`` and config commands (they must stay well under 0.3 s and never import litellm);
- ``ccw cli`` against a loopback OpenAI-compatible server: time to the first answer byte and
  total, beside a bare Python script that imports litellm and makes the same streaming call.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.provider_server import ProviderServer  # noqa: E402

RUNS = 5

BARE = """
import os, sys, time
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
import litellm
litellm.suppress_debug_info = True
stream = litellm.completion(model="openai/gpt-4o", api_base=sys.argv[1], api_key="sk-bench",
    messages=[{"role": "user", "content": "hello"}], stream=True, max_tokens=64, num_retries=0)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        sys.stdout.write(chunk.choices[0].delta.content); sys.stdout.flush()
"""


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(seconds to the first stdout byte, seconds in all) for one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.read(1)
    first = time.perf_counter() - start
    proc.communicate()
    total = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with {proc.returncode}")
    return first, total


def median(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:7.0f} ms"


def main() -> None:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_OFFLINE_MODE": "true"}
    with tempfile.TemporaryDirectory() as tmp, ProviderServer() as server:
        project = Path(tmp)
        env["CCW_DATA_DIR"] = str(project / "data")
        config = project / ".ccw/storage/config/litellm-api-config.json"
        config.parent.mkdir(parents=True)
        config.write_text(
            json.dumps(
                {
                    "providers": [
                        {
                            "id": "p",
                            "type": "openai",
                            "apiKey": "sk-bench",
                            "apiBase": server.url + "/v1",
                        }
                    ],
                    "endpoints": [{"id": "e", "providerId": "p", "model": "gpt-4o"}],
                    "defaultEndpoint": "e",
                }
            )
        )
        ccw = [sys.executable, "-m", "ccw"]
        rows: list[tuple[str, str, str]] = []
        for label, args in [
            ("ccw --help", ["--help"]),
            ("ccw provider list", ["provider", "list"]),
            ("ccw endpoint list --json", ["endpoint", "list", "--json"]),
            ("ccw config path", ["config", "path"]),
        ]:
            totals = [timed([*ccw, *args], project, env)[1] for _ in range(RUNS)]
            rows.append((label, "", median(totals)))
        bare_first, bare_total, ccw_first, ccw_total = [], [], [], []
        script = project / "bare.py"
        script.write_text(BARE)
        for _ in range(RUNS):
            first, total = timed([sys.executable, str(script), server.url + "/v1"], project, env)
            bare_first.append(first)
            bare_total.append(total)
            first, total = timed([*ccw, "cli", "-p", "hello"], project, env)
            ccw_first.append(first)
            ccw_total.append(total)
        rows.append(("bare litellm script", median(bare_first), median(bare_total)))
        rows.append(("ccw cli -p hello", median(ccw_first), median(ccw_total)))
        overhead = statistics.median(ccw_total) - statistics.median(bare_total)
    print(f"{'command':32} {'first byte':>12} {'total':>12}   (median of {RUNS})")
    for label, first, total in rows:
        print(f"{label:32} {first:>12} {total:>12}")
    print(f"ccw cli overhead over the bare script: {overhead * 1000:.0f} ms")


if __name__ == "__main__":
    main()
