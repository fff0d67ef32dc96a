"""Real git as the oracle for file selection, and ccw's own selection outside git.

Git runs with no global or system config and ``core.excludesFile=/dev/null``, so a user's
settings cannot change the answer; ``.git/info/exclude`` of a fresh repository holds only
comments. Both sides list the ``.gitignore`` files themselves as ordinary files (git shows
them as untracked unless a rule ignores them, and the walk packs them likewise), so the
comparison keeps them: a rule that ignores a ``.gitignore`` must be honoured by both.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from ccw.context.parse import Pattern
from ccw.context.select import select_files

Files = Mapping[str, str | bytes]


def git_env() -> dict[str, str]:
    """The environment of an oracle git: no inherited ``GIT_*`` and no user or system config."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", LC_ALL="C")
    return env


def write_files(root: Path, files: Files) -> Path:
    """Write each file (text as UTF-8 without newline translation, bytes as given)."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return root


def inside_git(root: Path) -> bool:
    """Whether ``root`` or an ancestor holds ``.git`` (ccw would then ask git, not walk)."""
    folder = root.resolve()
    return any((candidate / ".git").exists() for candidate in (folder, *folder.parents))


def ccw_selection(root: Path, pattern: str = "**/*") -> set[str]:
    """ccw's selection for one pattern, with no folder left out by policy (as git lists them)."""
    assert not inside_git(root), f"{root} is inside a git work tree; the walk would not run"
    _, files = select_files([Pattern(pattern)], root, exclude_dirs=())
    return {candidate.rel for candidate in files}


def git_init(root: Path) -> None:
    """A fresh repository without template files (so no sample ``info/exclude``)."""
    subprocess.run(["git", "init", "-q", "--template=", str(root)], check=True, env=git_env())


def git_untracked(root: Path, pathspec: str | None = None, git_dir: Path | None = None) -> set[str]:
    """``git ls-files --others --exclude-standard`` in ``root``, optionally limited to one
    ``:(glob)`` pathspec. ``root`` is a repository, or the work tree of the empty repository
    ``git_dir`` (the same answer, one ``git init`` fewer per tree)."""
    command = ["git", "-c", "core.quotepath=off", "-c", f"core.excludesFile={os.devnull}"]
    if git_dir is not None:
        command += [f"--git-dir={git_dir}", f"--work-tree={root}"]
    command += ["ls-files", "-z", "--others", "--exclude-standard"]
    if pathspec is not None:
        command += ["--", f":(glob){pathspec}"]
    done = subprocess.run(command, cwd=root, env=git_env(), capture_output=True, check=True)
    listed = done.stdout.decode("utf-8", "surrogateescape").split("\0")
    return {name for name in listed if name}


def describe(files: Files) -> str:
    """The tree as lines a reader can rebuild it from (contents of ignore files shown exactly)."""
    lines = []
    for rel in sorted(files):
        content = files[rel]
        shown = f"  {content!r}" if rel.rsplit("/", 1)[-1] == ".gitignore" else ""
        lines.append(f"  {rel!r}{shown}")
    return "\n".join(lines)


def disagreement(files: Files, ours: set[str], git: set[str], what: str = "**/*") -> str:
    """A failure message: the tree, the rules and the paths only one side has."""
    return (
        f"selection for {what!r} differs from git\ntree:\n{describe(files)}\n"
        f"only ccw selects: {sorted(ours - git)!r}\n"
        f"only git selects: {sorted(git - ours)!r}"
    )
