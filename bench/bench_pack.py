"""Packing speed on Django 5.2's source tree, beside ``cat`` of the same files.

Run by hand: ``.venv/bin/python bench/bench_pack.py [--runs 5] [--cold]``. The first run
downloads the Django 5.2 sdist from PyPI (``pip download``) and builds the corpus under
``bench/.corpus/`` (git-ignored): unpacked, ``git init`` and committed with a .gitignore,
and ignored ``__pycache__`` noise beside it. ``--cold`` also measures with a dropped page
cache (needs root; it slows every process on the machine for a moment).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / ".corpus"
TREE = CORPUS / "django-5.2"
BIG = {"max_total_bytes": 10**10, "max_files": 10**6}
BIG_FLAGS = ["--max-size-kb", str(10**7), "--max-files", str(10**6)]
GITIGNORE = """\
*.egg-info
*.pot
*.py[co]
.tox/
__pycache__
MANIFEST
dist/
docs/_build/
docs/locale/
node_modules/
tests/coverage_html/
tests/.coverage*
build/
tests/report/
.venv/
"""


def build_corpus() -> Path:
    """Django 5.2 from PyPI, unpacked, committed to git, with ignored noise."""
    if (TREE / ".git").is_dir():
        return TREE
    download = CORPUS / "download"
    download.mkdir(parents=True, exist_ok=True)
    if not list(download.glob("django-5.2*.tar.gz")):
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             "django==5.2.*", "-d", str(download)],
            check=True,
        )  # fmt: skip
    archive = sorted(download.glob("django-5.2*.tar.gz"))[-1]
    staging = Path(tempfile.mkdtemp(dir=CORPUS))
    with tarfile.open(archive) as tar:
        tar.extractall(staging, filter="data")
    (top,) = staging.iterdir()
    shutil.rmtree(TREE, ignore_errors=True)
    top.rename(TREE)
    staging.rmdir()
    (TREE / ".gitignore").write_text(GITIGNORE)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run([*git, "init", "-q"], cwd=TREE, check=True)
    subprocess.run([*git, "add", "-A"], cwd=TREE, check=True)
    subprocess.run([*git, "commit", "-qm", "Django 5.2 sdist"], cwd=TREE, check=True)
    for package in sorted({p.parent for p in (TREE / "django").rglob("*.py")}):
        noise = package / "__pycache__"
        noise.mkdir(exist_ok=True)
        for module in package.glob("*.py"):
            (noise / f"{module.stem}.cpython-311.pyc").write_bytes(os.urandom(2048))
    return TREE


def timed(action: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def cat(tree: Path, pathspec: str | None) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", *([pathspec] if pathspec else [])],
        cwd=tree, capture_output=True, check=True,
    ).stdout  # fmt: skip
    subprocess.run(
        ["xargs", "-0", "cat"], cwd=tree, input=listed, stdout=subprocess.DEVNULL, check=True
    )


PEAK_RSS_KB = [0]


def ccw(tree: Path, env: dict[str, str], *args: str) -> None:
    """One ``ccw pack`` process, its pack to /dev/null; GNU time records its peak RSS."""
    with tempfile.NamedTemporaryFile("r") as report:
        subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", report.name,
             sys.executable, "-m", "ccw", "pack", *args, *BIG_FLAGS],
            cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
        )  # fmt: skip
        PEAK_RSS_KB[0] = max(PEAK_RSS_KB[0], int(report.read().split()[-1]))


def drop_caches() -> None:
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold", action="store_true", help="also measure a cold page cache")
    options = parser.parse_args()
    tree = build_corpus()

    from ccw.context.api import ContextRequest, build_context, stream_context

    work = Path(tempfile.mkdtemp(prefix="ccw-bench-"))
    cache_dir = work / "cache"
    config = work / "config.json"
    config.write_text(
        json.dumps({"globalCacheSettings": {"cacheDir": str(cache_dir), "maxTotalSizeMB": 1000}})
    )
    env = {**os.environ, "CCW_CONFIG": str(config)}

    def request(prompt: str, **extra: object) -> ContextRequest:
        fields: dict[str, object] = {
            "cache_dir": cache_dir, "max_cache_bytes": 10**10, "progress": False, **BIG
        }  # fmt: skip
        fields.update(extra)
        return ContextRequest(prompt, tree, **fields)  # type: ignore[arg-type]

    def library(prompt: str, **extra: object) -> Callable[[], object]:
        return lambda: build_context(request(prompt, **extra))

    def streamed(prompt: str, **extra: object) -> Callable[[], object]:
        def run() -> object:
            with open(os.devnull, "wb") as sink:
                return stream_context(request(prompt, **extra), sink)

        return run

    def first_store() -> None:
        shutil.rmtree(cache_dir, ignore_errors=True)
        library("@.")()

    files = build_context(request("@.", use_cache=False))
    print(
        f"corpus: {tree} ({len(files.files)} text files packed, {files.pack_bytes} bytes, "
        f"{len(files.skipped)} left out)"
    )
    del files
    fresh = {"use_cache": False}
    fresh_flag = (".", "--no-cache")
    scenarios: list[tuple[str, str, Callable[[], object]]] = [
        ("cat, whole tree", "", lambda: cat(tree, None)),
        ("cat, **/*.py", "", lambda: cat(tree, "*.py")),
        ("library, whole tree, --no-cache", "0.30", library("@.", **fresh)),
        ("library, whole tree, --no-cache, streamed", "0.30", streamed("@.", **fresh)),
        ("library, @**/*.py, --no-cache", "0.15", library("@**/*.py", **fresh)),
        ("library, @**/*.py, --no-cache, streamed", "0.15", streamed("@**/*.py", **fresh)),
        ("library, whole tree, first call storing", "", first_store),
        ("library, whole tree, cache hit", "0.10", library("@.")),
        ("library, whole tree, cache hit, streamed", "0.10", streamed("@.")),
        ("ccw pack process, whole tree, --no-cache", "0.50", lambda: ccw(tree, env, *fresh_flag)),
        ("ccw pack process, whole tree, cache hit", "0.25", lambda: ccw(tree, env, ".")),
    ]  # fmt: skip
    rows = [(name, target, timed(action, options.runs)) for name, target, action in scenarios]
    if options.cold:
        for name, target, action in (
            ("library, whole tree, cold page cache", "1.00", streamed("@.", **fresh)),
            ("cat, whole tree, cold page cache", "", lambda: cat(tree, None)),
        ):
            times = []
            for _ in range(min(options.runs, 3)):
                drop_caches()
                times.extend(timed(action, 1))
            rows.append((name, target, times))
    shutil.rmtree(work, ignore_errors=True)
    peak_mb = PEAK_RSS_KB[0] / 1024

    print(f"\n{'scenario':<46} {'target s':>8} {'best s':>8} {'median s':>9}  ok")
    for name, target, times in rows:
        best, median = min(times), statistics.median(times)
        ok = "" if not target else ("yes" if best <= float(target) else "NO")
        print(f"{name:<46} {target:>8} {best:>8.3f} {median:>9.3f}  {ok}")
    print(f"\npeak RSS of a ccw pack process: {peak_mb:.0f} MB (target 100)")


if __name__ == "__main__":
    main()
