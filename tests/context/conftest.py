"""Fixture trees for the context cache: real files, real git, real SQLite."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ccw.context.api import ContextRequest, ContextResult, build_context

Tree = dict[str, str | bytes]
PAST_S = 3600


def write_tree(root: Path, files: Tree) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def age(root: Path) -> None:
    """Move every mtime an hour back, so that stat fingerprints are trusted at once."""
    past = os.stat(root).st_mtime - PAST_S
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            os.utime(os.path.join(folder, name), (past, past), follow_symlinks=False)
    os.utime(root, (past, past))


def git_init(root: Path) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)


@pytest.fixture
def tree(tmp_path: Path) -> Callable[[Tree], Path]:
    """Write files under ``tmp_path/tree`` and return that folder."""

    def make(files: Tree) -> Path:
        return write_tree(tmp_path / "tree", files)

    return make


@pytest.fixture
def pack(tmp_path: Path) -> Callable[..., ContextResult]:
    """``build_context`` for a prompt in a root, with a cache under ``tmp_path/cache``."""

    def run(prompt: str, root: Path, **options: object) -> ContextResult:
        options.setdefault("cache_dir", tmp_path / "cache")
        return build_context(ContextRequest(prompt=prompt, root=root, **options))  # type: ignore[arg-type]

    return run
