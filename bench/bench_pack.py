"""Packing speed at three sizes, as ratios to floors measured in the same run.

Run by hand: ``.venv/bin/python bench/bench_pack.py [--runs 5] [--only django] [--entry fast]``.

Corpora, built once under ``bench/.corpus/`` (git-ignored), each a git repository:

- ``django``: Django 5.2's sdist (``pip download`` from PyPI), committed with a .gitignore,
  with ignored ``__pycache__`` noise beside it;
- ``django4``: four copies of it in one repository (about 27,600 files);
- ``gen100k``: 100,000 small generated files (source, docs and data), no download.

Every scenario is a process (``ccw pack`` or a floor), and the scenarios of a corpus run
round-robin, so each ratio compares numbers taken side by side. Floors: ``cat`` of the
files ``git ls-files`` lists, and the stat floor, ``git ls-files`` plus a ``stat`` of each
file (the least any cache-hit check can do). The table prints the best and median time of
each scenario, its ratio (of medians, and of bests) to the floor it is judged against, the
goal and the peak RSS.

``ccw`` runs as ``python -m ccw``; ``--entry fast`` runs it through ``ccw.cli.entry`` (the
entry that packs without Typer). Start-up always measures both, side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
# How ccw is started: as ``python -m ccw``, or through the fast entry.
ENTRIES = {
    "module": ["-m", "ccw"],
    "fast": ["-c", "import sys; sys.argv[0] = 'ccw'; from ccw.cli.entry import main; main()"],
}
CORPUS = HERE / ".corpus"
BIG_FLAGS = ["--max-size-kb", str(10**7), "--max-files", str(10**6)]
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
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


def _commit(tree: Path, message: str) -> None:
    subprocess.run([*GIT, "init", "-q"], cwd=tree, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=tree, check=True)
    subprocess.run([*GIT, "commit", "-qm", message], cwd=tree, check=True)


def _unpack_django(target: Path) -> None:
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
    top.rename(target)
    staging.rmdir()


def _add_noise(tree: Path) -> None:
    """Ignored ``__pycache__`` files beside every package, as a used checkout has."""
    for package in sorted({p.parent for p in tree.rglob("django/**/*.py")}):
        noise = package / "__pycache__"
        noise.mkdir(exist_ok=True)
        for module in package.glob("*.py"):
            (noise / f"{module.stem}.cpython-311.pyc").write_bytes(os.urandom(2048))


def django() -> Path:
    tree = CORPUS / "django"
    if (tree / ".git").is_dir():
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    _unpack_django(tree)
    (tree / ".gitignore").write_text(GITIGNORE)
    _commit(tree, "Django 5.2 sdist")
    _add_noise(tree)
    return tree


def django4() -> Path:
    tree = CORPUS / "django4"
    if (tree / ".git").is_dir():
        return tree
    source = django()
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir()
    ignore = shutil.ignore_patterns(".git", "__pycache__")
    for copy in ("a", "b", "c", "d"):
        shutil.copytree(source, tree / copy, ignore=ignore)
    (tree / ".gitignore").write_text(GITIGNORE)
    _commit(tree, "Django 5.2 sdist, four times")
    _add_noise(tree)
    return tree


_KINDS = (("py", 5), ("js", 1), ("md", 1), ("json", 2), ("txt", 1))
_WORDS = ("alpha beta gamma delta epsilon value result items count total index name").split()  # noqa: SIM905


def gen100k() -> Path:
    """100 packages x 10 modules x 100 files, 100 to 3,000 bytes each, fixed seed."""
    tree = CORPUS / "gen100k"
    if (tree / ".git").is_dir():
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    rng = random.Random(12)
    extensions = [ext for ext, weight in _KINDS for _ in range(weight)]
    for package in range(100):
        for module in range(10):
            folder = tree / f"pkg{package:02d}" / f"mod{module}"
            folder.mkdir(parents=True)
            for number in range(100):
                size = rng.randint(100, 3000)
                words = " ".join(rng.choice(_WORDS) for _ in range(size // 6))
                text = "\n".join(words[i : i + 72] for i in range(0, len(words), 72)) + "\n"
                (folder / f"f{number:02d}.{rng.choice(extensions)}").write_text(text)
    _commit(tree, "generated tree")
    return tree


CORPORA: dict[str, Callable[[], Path]] = {
    "django": django,
    "django4": django4,
    "gen100k": gen100k,
}


def listed(tree: Path) -> bytes:
    return subprocess.run(
        ["git", "ls-files", "-z"], cwd=tree, capture_output=True, check=True
    ).stdout


@dataclass
class Scenario:
    name: str
    command: Callable[[], list[str]]
    floor: str = ""  # the scenario this one is judged against
    goal: float = 0.0  # the largest ratio to ``floor`` that meets the goal
    before: Callable[[], object] | None = None  # untimed set-up before each run
    small_cache: bool = False  # with the default cache limit of 100 MB
    times: list[float] = field(default_factory=list)
    peak_kb: int = 0


def shell(script: str) -> Callable[[], list[str]]:
    return lambda: ["sh", "-c", script]


def run_timed(scenario: Scenario, cwd: Path, env: dict[str, str]) -> None:
    if scenario.before is not None:
        scenario.before()
    with tempfile.NamedTemporaryFile("r") as report:
        start = time.perf_counter()
        subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", report.name, *scenario.command()],
            cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
        )  # fmt: skip
        scenario.times.append(time.perf_counter() - start)
        scenario.peak_kb = max(scenario.peak_kb, int(report.read().split()[-1]))


def scenarios(work: Path, entry: str) -> list[Scenario]:
    ccw = [sys.executable, *ENTRIES[entry], "pack", "."]
    cache = work / "cache"

    def clear_cache() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    return [
        Scenario("cat", shell("git ls-files -z | xargs -0 cat")),
        Scenario("stat floor", shell("git ls-files -z | xargs -0 stat -c '' --")),
        Scenario("uncached whole tree", lambda: [*ccw, "--no-cache", *BIG_FLAGS], "cat", 3.0),
        Scenario(
            "storing call",
            lambda: [*ccw, *BIG_FLAGS],
            "uncached whole tree",
            1.3,
            before=clear_cache,
        ),
        Scenario("cache hit", lambda: [*ccw, *BIG_FLAGS], "stat floor", 1.5),
        Scenario("default limits", lambda: [*ccw, "--no-cache"], "cat"),
        Scenario(
            "whole tree, 100 MB cache",
            lambda: [*ccw, *BIG_FLAGS],
            "uncached whole tree",
            small_cache=True,
        ),
    ]


def measure(name: str, tree: Path, runs: int, entry: str) -> list[Scenario]:
    work = Path(tempfile.mkdtemp(prefix="ccw-bench-"))
    config = work / "config.json"
    settings = {"cacheDir": str(work / "cache"), "maxTotalSizeMB": 100_000}
    small = {"cacheDir": str(work / "small"), "maxTotalSizeMB": 100}
    config.write_text(json.dumps({"globalCacheSettings": settings}))
    small_config = work / "small.json"
    small_config.write_text(json.dumps({"globalCacheSettings": small}))
    env = {**os.environ, "CCW_CONFIG": str(config), "CCW_DATA_DIR": str(work / "data")}
    small_env = {**env, "CCW_CONFIG": str(small_config)}
    plan = scenarios(work, entry)
    # Warm the page cache and the cache database once, untimed.
    subprocess.run(["sh", "-c", "git ls-files -z | xargs -0 cat"], cwd=tree,
                   stdout=subprocess.DEVNULL, check=True)  # fmt: skip
    try:
        for _ in range(runs):
            for scenario in plan:
                run_timed(scenario, tree, small_env if scenario.small_cache else env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    count = listed(tree).count(b"\0")
    print(f"\n{name}: {tree} ({count} files listed by git)")
    _table(plan)
    return plan


def _table(plan: list[Scenario]) -> None:
    """Best and median time of each scenario; the ratio (and the goal) is of medians, the
    steadier of the two on a shared machine, with the ratio of bests beside it."""
    best = {s.name: min(s.times) for s in plan}
    median = {s.name: statistics.median(s.times) for s in plan}
    print(
        f"{'scenario':<32} {'best s':>7} {'median s':>8} {'ratio':>12} {'of bests':>8} "
        f"{'goal':>6} {'MB':>5}"
    )
    for s in plan:
        ratio = of_bests = goal = ""
        if s.floor:
            ratio = f"{median[s.name] / median[s.floor]:.2f}x {s.floor.split()[0]}"
            of_bests = f"{best[s.name] / best[s.floor]:.2f}x"
        if s.goal:
            met = median[s.name] / median[s.floor] <= s.goal
            goal = f"{s.goal:.1f} " + ("ok" if met else "NO")
        print(
            f"{s.name:<32} {best[s.name]:>7.3f} {median[s.name]:>8.3f} {ratio:>12} "
            f"{of_bests:>8} {goal:>6} {s.peak_kb / 1024:>5.0f}"
        )


def startup(runs: int) -> None:
    """``ccw pack`` up to its first useful work (one missing pattern, allowed), as
    ``python -m ccw`` and through the fast entry, beside ``python -c pass`` and
    ``python -c "import typer"``."""
    work = Path(tempfile.mkdtemp(prefix="ccw-bench-"))
    env = {**os.environ, "CCW_CONFIG": str(work / "config.json"), "CCW_DATA_DIR": str(work)}
    nothing = ["pack", "none", "--allow-empty", "--no-cache"]
    plan = [
        Scenario("python -c pass", lambda: [sys.executable, "-c", "pass"]),
        Scenario("import typer", lambda: [sys.executable, "-c", "import typer"]),
        Scenario(
            "python -m ccw pack, nothing",
            lambda: [sys.executable, *ENTRIES["module"], *nothing],
            "python -c pass",
        ),
        Scenario(
            "fast entry pack, nothing",
            lambda: [sys.executable, *ENTRIES["fast"], *nothing],
            "python -c pass",
        ),
    ]
    try:
        for _ in range(runs):
            for scenario in plan:
                run_timed(scenario, work, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\nstart-up")
    _table(plan)


def installed_env() -> None:
    """ccw as installed: its modules compiled once (an install writes their bytecode), and
    no ``PYTHONDONTWRITEBYTECODE`` to make every run compile them from source again."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    import importlib.util

    spec = importlib.util.find_spec("ccw")
    assert spec is not None and spec.submodule_search_locations
    for folder in spec.submodule_search_locations:
        subprocess.run([sys.executable, "-m", "compileall", "-q", folder], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=sorted(CORPORA), action="append")
    parser.add_argument("--entry", choices=sorted(ENTRIES), default="module")
    options = parser.parse_args()
    chosen = options.only or list(CORPORA)
    trees = {name: CORPORA[name]() for name in chosen}
    installed_env()
    startup(options.runs)
    for name, tree in trees.items():
        measure(name, tree, options.runs, options.entry)


if __name__ == "__main__":
    main()
