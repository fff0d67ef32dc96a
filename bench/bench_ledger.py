"""What the prompt cache and the ledger add to one call, run by hand:
``python bench/bench_ledger.py [--rows 100000] [--runs 50] [--pack-kb 512]``.

Measured in one run, per call (median of ``--runs``), beside the floor of building the
messages the way a call did before (system, earlier turns, pack and prompt in one string):
- shaping the request for Anthropic (breakpoint and TTL) and OpenAI (``prompt_cache_key``:
  the SHA-256 of a ``--pack-kb`` pack, computed afresh each time);
- the cost split and the uncached cost from LiteLLM's bundled prices;
- the missed-cache check after a call that read nothing: opening the history of ``--rows``
  calls and asking for the last call that sent the same pack (``History.last_sent``).
The goal: under 2 ms in all. The history is the one ``bench_cost.py`` builds (under
``bench/.corpus/cost/``, git-ignored); it is built here when missing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


def _median_ms(action: Callable[[], object], runs: int) -> float:
    action()  # warm: imports, the price map, the database's first page
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--pack-kb", type=int, default=512)
    args = parser.parse_args()

    from bench_cost import CORPUS, build

    data = CORPUS / "data"
    data.mkdir(parents=True, exist_ok=True)
    if not (data / "history.db").exists():
        build(data / "history.db", args.rows)
    os.environ["CCW_DATA_DIR"] = str(data)

    from ccw.config.schema import Config
    from ccw.context.options import SEPARATOR
    from ccw.context.request import ContextResult
    from ccw.exec import cache_miss, events, pricing, prompt_cache
    from ccw.exec.executor import Request
    from ccw.exec.litellm_executor import LiteLLMExecutor
    from ccw.exec.target import CallTarget, resolve_target
    from ccw.result import ExecutionResult, Usage

    pack = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(10**6))
    pack = pack[: args.pack_kb * 1024]
    context = ContextResult(pack=pack, prompt="Review it", total_tokens=len(pack) // 4)
    prior = [{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "ok"}]
    request = Request(prompt="@src Review it", context=context, prior=prior, system="Be brief.")
    config = Config.model_validate(
        {
            "providers": [
                {"id": "a", "type": "anthropic", "apiKey": "sk-a"},
                {"id": "o", "type": "openai", "apiKey": "sk-o"},
            ],
            "endpoints": [
                {"id": "claude", "providerId": "a", "model": "claude-sonnet-4-5"},
                {"id": "gpt", "providerId": "o", "model": "gpt-5.1"},
            ],
        }
    )
    claude, gpt = resolve_target(config, "claude"), resolve_target(config, "gpt")

    def floor() -> object:
        system = [{"role": "system", "content": request.system}]
        return [*system, *request.prior, {"role": "user", "content": pack + SEPARATOR + "x"}]

    def shape(target: CallTarget) -> Callable[[], object]:
        def run() -> object:
            prompt_cache.pack_key.cache_clear()
            return prompt_cache.shape(target, request)

        return run

    usage = Usage(140_000, 300, 120_000, 0, None)

    def price() -> object:
        model = "anthropic/claude-sonnet-4-5"
        return pricing.cost("anthropic", model, usage), pricing.uncached_cost(
            "anthropic", model, usage
        )

    runner = LiteLLMExecutor.__new__(LiteLLMExecutor)
    runner.target, runner.endpoint_id = claude, "claude"

    def miss() -> object:
        result = ExecutionResult(success=True, endpoint_id="claude", usage=Usage(10, 1, 0))
        result.pack_key = "0" * 64  # sent before or not: the query is the same
        cache_miss.check(runner, request, result, events.ignore)
        return result

    rows = [
        ("messages as one string (floor)", floor),
        ("shape for Anthropic", shape(claude)),
        ("shape for OpenAI (SHA-256 of the pack)", shape(gpt)),
        ("cost split and uncached cost", price),
        (f"missed-cache check ({args.rows:,}-row history)", miss),
    ]
    print(f"pack {len(pack) / 1024:.0f} KB, median of {args.runs} runs")
    results = {name: _median_ms(action, args.runs) for name, action in rows}
    base = results[rows[0][0]]
    for name, ms in results.items():
        print(f"{name:<48} {ms:8.3f} ms  ({ms / base:6.1f}x floor)")
    added = sum(ms for name, ms in results.items() if name != rows[0][0]) - base
    print(f"{'added per call (worst case, both shapes)':<48} {added:8.3f} ms")


if __name__ == "__main__":
    main()
