"""``--fit`` on Django's source tree into a 128k-token window: time, and the share of files
kept whole, shortened and left out.

Run by hand: ``.venv/bin/python bench/bench_fit.py [--runs 3] [--window 128000]``.

The corpus is the one ``bench/bench_pack.py`` builds (Django 5.2's sdist under
``bench/.corpus/django``). In one process, round-robin, each run times:

- ``pack``: packing the files fresh (``build_context``, no cache), the floor;
- ``fit``: fitting that pack to the window (named file whole, the rest ranked by its imports,
  outlined with tree-sitter or left out), nothing stored;
- ``fit, stored``: the same fit answered from the context cache (the fitted pack stored once,
  untimed).

Two prompts: one named file plus every file of the tree (``@**/*``), and one named file plus
every Python file (``@django/**/*.py``). The budget leaves the answer 4,096 tokens.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pack import django

from ccw.context.api import build_context
from ccw.context.fit import FittedContext, fit_context
from ccw.context.request import ContextRequest

NAMED = "django/db/models/query.py"
PROMPTS = {
    "whole tree": f"@{NAMED} @**/* Explain how a QuerySet is evaluated",
    "python files": f"@{NAMED} @django/**/*.py Explain how a QuerySet is evaluated",
}
ANSWER_TOKENS = 4096


def _request(tree: Path, prompt: str, cache: Path | None) -> ContextRequest:
    return ContextRequest(
        prompt=prompt,
        root=tree,
        max_total_bytes=10**10,
        max_files=10**6,
        cache_dir=cache,
        use_cache=cache is not None,
        max_cache_bytes=10**11,
    )


def measure(tree: Path, label: str, prompt: str, runs: int, window: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="ccw-bench-fit-"))
    budget = window - len(prompt) // 4 - ANSWER_TOKENS
    pack_times: list[float] = []
    fit_times: list[float] = []
    hit_times: list[float] = []
    fitted: FittedContext | None = None
    try:
        stored_request = _request(tree, prompt, work / "cache")
        base = build_context(_request(tree, prompt, None))
        fit_context(base, stored_request, budget)  # stores the fitted pack, untimed
        for _ in range(runs):
            start = time.perf_counter()
            ctx = build_context(_request(tree, prompt, None))
            pack_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            fitted = fit_context(ctx, _request(tree, prompt, None), budget)
            fit_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            hit = fit_context(ctx, stored_request, budget)
            hit_times.append(time.perf_counter() - start)
            assert hit.cache_used and hit.pack == fitted.pack
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert fitted is not None
    files = len(base.files)
    whole = len(fitted.files) - len(fitted.shortened)
    print(f"\n{label}: {prompt!r}")
    print(
        f"  pack: {files:,} files, ~{base.total_tokens:,} tokens -> window {window:,} "
        f"(room for {budget:,}); fitted ~{fitted.total_tokens:,} tokens"
    )
    print(
        f"  kept whole {whole:,} ({whole / files:.1%}), shortened {len(fitted.shortened):,} "
        f"({len(fitted.shortened) / files:.1%}), left out {len(fitted.left_out_to_fit):,} "
        f"({len(fitted.left_out_to_fit) / files:.1%})"
    )
    floor = min(pack_times)
    print(f"  {'scenario':<14} {'best s':>7} {'median s':>8} {'ratio to pack':>14}")
    for name, times in (("pack", pack_times), ("fit", fit_times), ("fit, stored", hit_times)):
        best = min(times)
        median = statistics.median(times)
        print(f"  {name:<14} {best:>7.3f} {median:>8.3f} {best / floor:>13.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--window", type=int, default=128_000)
    args = parser.parse_args()
    tree = django()
    for label, prompt in PROMPTS.items():
        measure(tree, label, prompt, args.runs, args.window)


if __name__ == "__main__":
    main()
