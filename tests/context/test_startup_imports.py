"""What ``ccw pack`` loads before its first useful work: git's listing is spawned directly
(no ``subprocess`` and its threads, selectors and signals), and the command output helper
behaves as ``subprocess.run`` did."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ccw.context.select import _output

from .conftest import git_init, write_tree

HEAVY = ("subprocess", "typer", "pydantic", "rich", "litellm")
REPORT = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write("
    f"'LOADED=' + ','.join(m for m in {HEAVY!r} if m in sys.modules) + '\\n'))\n"
    "sys.argv[0] = 'ccw'\n"
    "from ccw.cli.entry import main\n"
    "main()\n"
)


def test_a_pack_in_a_git_tree_loads_no_subprocess_module(
    project: Path, ccw_env: dict[str, str]
) -> None:
    write_tree(project, {"src/a.py": "a = 1\n", "ignored.log": "x\n", ".gitignore": "*.log\n"})
    git_init(project)
    for _ in range(2):  # the first call validates the config once and keeps a memo
        done = subprocess.run(
            [sys.executable, "-c", REPORT, "pack", ".", "--no-cache", "--format", "plain"],
            cwd=project,
            env=ccw_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    assert "FILE: src/a.py" in done.stdout and "ignored.log" not in done.stdout
    assert "LOADED=\n" in done.stderr


def test_output_gives_stdout_or_none(tmp_path: Path) -> None:
    write_tree(tmp_path / "repo", {"b.txt": "b", "a.txt": "a"})
    git_init(tmp_path / "repo")
    listed = _output(["git", "-C", str(tmp_path / "repo"), "ls-files", "-z", "--others"])
    assert listed == b"a.txt\0b.txt\0"
    (tmp_path / "plain").mkdir()
    # not a repository: git fails (its message goes nowhere); a missing program: None
    assert _output(["git", "-C", str(tmp_path / "plain"), "ls-files"]) is None
    assert _output(["ccw-no-such-program-here"]) is None
    big = _output([sys.executable, "-c", "import sys; sys.stdout.write('x' * 3_000_000)"])
    assert big is not None and len(big) == 3_000_000
