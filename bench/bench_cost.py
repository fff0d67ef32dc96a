"""The ledger, run by hand: ``python bench/bench_cost.py [--rows 100000] [--runs 7]``.

In one run on this machine:
- ``History.record()`` of a call with every ledger field, into a copy of a history of
  ``--rows`` calls, beside the same into a copy without the ledger's indexes and the triggers
  of its running sums (what the ledger adds to a call: the goal is under 2 ms);
- ``ccw cost`` (the summary, ``--by day,endpoint``, ``--json --by endpoint``) over that
  history as a whole process (the goal: under 0.3 s), beside ``python -c pass``,
  ``python -c "import typer"`` and ``ccw --version`` (the start-up every ccw command pays)
  and ``ccw cli history -n 1 -a`` (another reader of the history), measured round-robin.

The history is built once under ``bench/.corpus/cost/`` (git-ignored): calls over 60 days on
8 endpoints (each with its model; most calls on the first two) in 5 projects (a day mostly in
one), a tenth unpriced, a few failed, each with a short prompt, a 1 KB answer and 2 KB of
messages.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "bench" / ".corpus" / "cost"
PYTHON = sys.executable


def build(path: Path, rows: int) -> None:
    """A history of ``rows`` calls, written straight to SQLite (the schema from ccw)."""
    from ccw.history import History

    if path.exists():
        with sqlite3.connect(path) as db:
            if db.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == rows:
                return
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    History(path).list(limit=1)  # creates and migrates the file
    rng = random.Random(7)
    now = datetime.now(UTC)
    endpoints = [f"ep-{n}" for n in range(8)]
    models = ["gpt-4o", "gpt-5.1", "claude-sonnet-4-5", "gemini-2.5-pro", "deepseek-chat", "x"]
    projects = [f"/src/project-{n}" for n in range(5)]
    answer, messages = "a" * 1024, '[{"role": "user", "content": "' + "m" * 2000 + '"}]'

    def row(n: int) -> tuple[object, ...]:
        when = now - timedelta(seconds=rng.uniform(0, 60 * 86400))
        # A day's work is mostly in one project, on the main endpoint or two.
        day = int(when.timestamp() // 86400)
        project = projects[day % 5] if rng.random() < 0.8 else rng.choice(projects)
        pick = rng.choices(range(8), weights=(60, 25, 8, 3, 1, 1, 1, 1))[0]
        prompt_tokens = rng.randint(500, 60000)
        cached = rng.randint(0, prompt_tokens)
        written = rng.randint(0, prompt_tokens - cached)
        cost = None if rng.random() < 0.1 else prompt_tokens * 2.5e-6
        return (
            f"call-{n}",
            when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "litellm",
            endpoints[pick],
            models[pick % len(models)],
            project,
            f"question {n}",
            answer,
            messages,
            prompt_tokens,
            rng.randint(10, 2000),
            cached,
            written,
            cost,
            None if cost is None else cost * 1.8,
            int(rng.random() > 0.03),
        )

    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO calls (id, created_at, tool, endpoint_id, model, project, prompt, "
            "output, messages, prompt_tokens, completion_tokens, cached_tokens, "
            "cache_write_tokens, cost, cost_uncached, success) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (row(n) for n in range(rows)),
        )


def record_ms(path: Path, calls: int) -> float:
    """Milliseconds per ``History.record()`` of a call with every ledger field."""
    from ccw.history import History
    from ccw.result import ExecutionResult, Usage

    result = ExecutionResult(
        success=True,
        output="b" * 1024,
        model="gpt-4o",
        endpoint_id="ep-1",
        usage=Usage(12000, 300, 8000, 1000, "5m"),
        cost=0.0123,
        cost_uncached=0.04,
        cost_source="litellm",
        pack_key="p" * 64,
    )
    with History(path) as history:
        history.record(result, prompt="warm up", cwd="/src/project-1")
        start = time.perf_counter()
        for n in range(calls):
            history.record(result, prompt=f"q {n}", cwd="/src/project-1")
        took = time.perf_counter() - start
        assert not history.warnings, history.warnings
    return took / calls * 1000


def work_copy(source: Path, target: Path, *, ledger: bool) -> None:
    """A copy of the corpus to record into; without the ledger: no running sums (their
    triggers) and none of the ledger's indexes, as the history was before it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for leftover in target.parent.glob(target.name + "*"):
        leftover.unlink()
    with sqlite3.connect(source) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(source, target)
    if not ledger:
        with sqlite3.connect(target) as db:
            for trigger in ("insert", "delete", "update"):
                db.execute(f"DROP TRIGGER calls_spend_{trigger}")
            db.execute("DROP INDEX calls_created")
            db.execute("DROP INDEX calls_pack")


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.decode()[-400:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=300, help="records timed per history")
    args = parser.parse_args()

    data = CORPUS / "data"
    path = data / "history.db"
    started = time.perf_counter()
    build(path, args.rows)
    print(f"history of {args.rows:,} calls ready ({time.perf_counter() - started:.1f} s)")

    copies = {"with the ledger": CORPUS / "with", "without it": CORPUS / "without"}
    for name, folder in copies.items():
        work_copy(path, folder / "history.db", ledger=name == "with the ledger")
    timings: dict[str, list[float]] = {name: [] for name in copies}
    for _ in range(3):  # alternated, so both see the same machine
        for name, folder in copies.items():
            timings[name].append(record_ms(folder / "history.db", args.calls))
    ledger = statistics.median(timings["with the ledger"])
    without = statistics.median(timings["without it"])
    print(f"\nHistory.record(), ms per call (median of 3 x {args.calls}):")
    for name, values in timings.items():
        print(f"  {name:22} {statistics.median(values):7.3f}")
    print(f"  the ledger adds        {ledger - without:7.3f} ms per call (goal < 2 ms)")

    env = {**os.environ, "CCW_DATA_DIR": str(data), "NO_COLOR": "1"}
    commands = {
        "python -c pass": [PYTHON, "-c", "pass"],
        "python -c 'import typer'": [PYTHON, "-c", "import typer"],
        "ccw --version": [PYTHON, "-m", "ccw", "--version"],
        "ccw cli history -n 1 -a": [PYTHON, "-m", "ccw", "cli", "history", "-n", "1", "-a"],
        "ccw cost": [PYTHON, "-m", "ccw", "cost"],
        "ccw cost --by day,endpoint": [PYTHON, "-m", "ccw", "cost", "--by", "day,endpoint"],
        "ccw cost --json --by endpoint": [
            PYTHON,
            "-m",
            "ccw",
            "cost",
            "--json",
            "--by",
            "endpoint",
        ],
        "ccw cost --since 90d --by model": [
            PYTHON,
            "-m",
            "ccw",
            "cost",
            "--since",
            "90d",
            "--by",
            "model",
        ],
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for cmd in commands.values():  # warm the page cache and the bytecode
        timed(cmd, env)
    for _ in range(args.runs):
        for name, cmd in commands.items():
            samples[name].append(timed(cmd, env))
    floor = statistics.median(samples["python -c 'import typer'"])
    start_up = statistics.median(samples["ccw --version"])
    print(f"\nwhole process over {args.rows:,} calls, seconds (median of {args.runs}):")
    for name, values in samples.items():
        median = statistics.median(values)
        print(
            f"  {name:34} {median:6.3f}   {median / floor:5.2f} x import typer"
            f"   {median / start_up:5.2f} x ccw --version"
        )


if __name__ == "__main__":
    main()
