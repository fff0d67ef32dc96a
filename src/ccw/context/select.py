"""Turn patterns into the list of files to pack: listing, ignore rules, containment, stat.

Inside a git work tree the listing is git's own view (tracked plus untracked files that are
not ignored), from one ``git ls-files`` per folder a pattern starts from. Elsewhere a
``scandir`` walk applies nested ``.gitignore`` files with git's semantics and prunes ignored
folders. Containment is checked on real paths: a symlink or ``..`` never leads outside the
project root, an ``--include-dirs`` folder, or the folder an explicit ``../`` pattern names.

Besides the files, a selection returns the folders and ignore files whose stat fingerprints
decide whether the listing could have changed, so that a later call can trust a stored pack
after stat calls alone (taken only when a pack is stored).
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccw.context.globs import expand_braces, is_glob, split_base, translate
from ccw.context.parse import Pattern

DEFAULT_IGNORED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".ccw",
        "node_modules",
        "bower_components",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".eggs",
        "build",
        "dist",
        ".next",
        ".nuxt",
        ".parcel-cache",
        ".gradle",
        ".idea",
        "target",
        "coverage",
        "htmlcov",
    }
)

Fingerprint = tuple[int, int, int] | None


def fingerprint(path: str) -> Fingerprint:
    """(mtime_ns, size, inode) of a path, following symlinks; None when it does not exist."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)


@dataclass
class Candidate:
    """A regular file chosen by a pattern, with the stat taken before reading it."""

    rel: str
    path: str
    size: int
    mtime_ns: int
    ino: int
    explicit: bool


@dataclass
class Selection:
    files: list[Candidate] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    watch: set[str] = field(default_factory=set)


def _contained(real: str, roots: Sequence[str]) -> bool:
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _posix(path: str) -> str:
    return path.replace(os.sep, "/") if os.sep != "/" else path


class _Selector:
    def __init__(
        self,
        root: Path,
        include_dirs: Sequence[Path],
        file_patterns: Sequence[str],
        exclude_dirs: Collection[str] | None,
    ) -> None:
        self.root = os.path.realpath(root)
        self.policy = DEFAULT_IGNORED_DIRS if exclude_dirs is None else frozenset(exclude_dirs)
        self.allowed = [self.root, *(os.path.realpath(folder) for folder in include_dirs)]
        self.listings: dict[str, list[str]] = {}
        self.result = Selection()
        self.file_filter: Any = None
        if file_patterns:
            from pathspec import GitIgnoreSpec

            self.file_filter = GitIgnoreSpec.from_lines(file_patterns)

    def rel(self, path: str) -> str:
        relative = os.path.relpath(path, self.root)
        return "" if relative == "." else _posix(relative)

    def run(self, patterns: Sequence[Pattern]) -> Selection:
        excludes = [_exclude_matcher(p.text) for p in patterns if p.exclude]
        seen: set[str] = set()
        for pattern in patterns:
            if pattern.exclude:
                continue
            found: dict[str, tuple[str, tuple[str, ...], bool]] = {}
            for glob in expand_braces(pattern.text):
                for rel, path, roots, explicit in self._resolve(glob):
                    found.setdefault(rel, (path, roots, explicit))
            kept = 0
            for rel in sorted(found):
                path, roots, explicit = found[rel]
                if any(match(rel) for match in excludes):
                    continue
                if self.file_filter is not None and not self._allowed_by_filter(rel):
                    if explicit:
                        self.result.skipped.append((rel, "not in the endpoint's filePatterns"))
                    continue
                kept += 1
                if rel in seen:
                    continue
                seen.add(rel)
                candidate = self._stat(rel, path, roots, explicit)
                if candidate is not None:
                    self.result.files.append(candidate)
            if not kept:
                self.result.warnings.append(f"pattern {pattern.text!r} matched no file")
        return self.result

    def _allowed_by_filter(self, rel: str) -> bool:
        while rel.startswith("../"):
            rel = rel[3:]
        return bool(self.file_filter.match_file(rel))

    def _resolve(self, glob: str) -> Iterable[tuple[str, str, tuple[str, ...], bool]]:
        if glob.startswith("./"):
            glob = glob[2:]
        glob = glob.rstrip("/") or glob
        outside = glob == ".." or glob.startswith("../") or os.path.isabs(glob)
        literal_path = os.path.normpath(os.path.join(self.root, glob))
        if not is_glob(glob) or os.path.lexists(literal_path):
            if os.path.isdir(literal_path):
                base, rest = literal_path, "**"
            else:
                self.result.watch.add(literal_path)
                if not os.path.lexists(literal_path):
                    return
                parent = os.path.realpath(os.path.dirname(literal_path))
                roots = (*self.allowed, parent) if outside else tuple(self.allowed)
                yield self.rel(literal_path), literal_path, roots, True
                return
        else:
            head, rest = split_base(glob)
            base = os.path.normpath(os.path.join(self.root, head))
        base_real = os.path.realpath(base)
        roots = (*self.allowed, base_real) if outside else tuple(self.allowed)
        if not os.path.isdir(base_real):
            self.result.watch.add(base)
            return
        base_rel = self.rel(base)
        if not _contained(base_real, roots):
            self.result.skipped.append((base_rel or ".", "outside the project root"))
            return
        matcher = translate(rest).fullmatch
        prefix = f"{base_rel}/" if base_rel else ""
        for relative in self._listing(base_real):
            if matcher(relative):
                yield prefix + relative, os.path.join(base, relative), roots, False

    def _listing(self, base_real: str) -> list[str]:
        if base_real not in self.listings:
            top = _git_top(base_real)
            files = _git_listing(base_real, top, self.result.watch, self.policy) if top else None
            if files is None:
                files = _walk(
                    base_real, self._inherited_ignores(base_real), self.result.watch, self.policy
                )
            self.listings[base_real] = files
        return self.listings[base_real]

    def _inherited_ignores(self, base_real: str) -> list[_Ignore]:
        """``.gitignore`` files of the folders between the containing root and ``base_real``."""
        top = next((root for root in self.allowed if _contained(base_real, [root])), base_real)
        chain, folder = [], base_real
        while folder != top and _contained(folder, [top]):
            folder = os.path.dirname(folder)
            chain.append(folder)
        ignores = []
        for ancestor in reversed(chain):
            spec = _read_ignore(os.path.join(ancestor, ".gitignore"), self.result.watch)
            if spec is not None:
                prefix = _posix(os.path.relpath(base_real, ancestor)) + "/"
                ignores.append(_Ignore(prefix, 0, spec))
        return ignores

    def _stat(
        self, rel: str, path: str, roots: tuple[str, ...], explicit: bool
    ) -> Candidate | None:
        try:
            info = os.lstat(path)
            link = stat.S_ISLNK(info.st_mode)
            if (link or explicit) and not _contained(os.path.realpath(path), roots):
                reason = (
                    "symlink to a file outside the project root"
                    if link
                    else "outside the project root"
                )
                self.result.skipped.append((rel, reason))
                return None
            if link:
                info = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        return Candidate(rel, path, info.st_size, info.st_mtime_ns, info.st_ino, explicit)


def select_files(
    patterns: Sequence[Pattern],
    root: Path,
    include_dirs: Sequence[Path] = (),
    file_patterns: Sequence[str] = (),
    exclude_dirs: Collection[str] | None = None,
) -> Selection:
    """The files the patterns name, in pack order (patterns as written, sorted within each).

    ``exclude_dirs`` names the folders globs leave out by policy: None is the default list,
    an empty collection turns the policy off."""
    return _Selector(root, include_dirs, file_patterns, exclude_dirs).run(patterns)


def _exclude_matcher(text: str) -> Any:
    """``!name`` (no slash) excludes that name anywhere; ``!a/b*`` and ``!./name`` are path
    globs from the root."""
    anchored = text.startswith("./")
    text = (text[2:] if anchored else text).rstrip("/")
    globs = expand_braces(text)
    if not anchored and "/" not in text:
        names = [translate(glob).fullmatch for glob in globs]
        return lambda rel: any(match(part) for part in rel.split("/") for match in names)
    paths = [translate(glob + tail).fullmatch for glob in globs for tail in ("", "/**")]
    return lambda rel: any(match(rel) for match in paths)


def _git_top(folder: str) -> str | None:
    current = folder
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _git_listing(base: str, top: str, watch: set[str], policy: frozenset[str]) -> list[str] | None:
    """Tracked and untracked-not-ignored files under ``base``, relative to it; None if git fails."""
    try:
        completed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=base,
            capture_output=True,
            check=False,
        )
    except OSError:
        return None
    if completed.returncode != 0:
        return None
    listed = completed.stdout.decode("utf-8", "surrogateescape").split("\0")
    names = sorted({name for name in listed if name})
    files, folders = [], {""}
    for name in names:
        parts = name.split("/")
        if len(parts) > 1:
            if not policy.isdisjoint(parts[:-1]):
                continue
            folders.add(name.rpartition("/")[0])
        files.append(name)
    for folder in list(folders):
        while "/" in folder:
            folder = folder.rpartition("/")[0]
            folders.add(folder)
    for folder in folders:
        path = os.path.join(base, folder) if folder else base
        watch.add(path)
    git_dir = os.path.join(top, ".git")
    for extra in ("index", os.path.join("info", "exclude")):
        path = os.path.join(git_dir, extra)
        watch.add(path)
    folder = base
    while True:
        path = os.path.join(folder, ".gitignore")
        watch.add(path)
        if folder == top or os.path.dirname(folder) == folder:
            break
        folder = os.path.dirname(folder)
    return files


@dataclass
class _Ignore:
    """One ``.gitignore``: a path relative to the walk base becomes ``prefix + path[strip:]``."""

    prefix: str
    strip: int
    spec: Any


def _read_ignore(path: str, watch: set[str]) -> Any:
    watch.add(path)
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    from pathspec import GitIgnoreSpec

    return GitIgnoreSpec.from_lines(lines)


def _ignored(rel: str, is_dir: bool, ignores: list[_Ignore]) -> bool:
    """Git's rule: the deepest ``.gitignore`` with a matching line decides; last line wins."""
    suffix = "/" if is_dir else ""
    for ignore in reversed(ignores):
        verdict = ignore.spec.check_file(ignore.prefix + rel[ignore.strip :] + suffix).include
        if verdict is not None:
            return bool(verdict)
    return False


def _walk(
    base: str, inherited: list[_Ignore], watch: set[str], policy: frozenset[str]
) -> list[str]:
    """Files under ``base`` (relative, ``/``-separated) not ignored, pruning ignored folders."""
    files: list[str] = []
    stack: list[tuple[str, list[_Ignore]]] = [("", inherited)]
    while stack:
        rel_dir, ignores = stack.pop()
        folder = os.path.join(base, rel_dir) if rel_dir else base
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            continue
        if rel_dir and policy and any(entry.name == "pyvenv.cfg" for entry in entries):
            continue
        watch.add(folder)
        if any(entry.name == ".gitignore" for entry in entries):
            spec = _read_ignore(os.path.join(folder, ".gitignore"), watch)
            if spec is not None:
                ignores = [*ignores, _Ignore("", len(rel_dir) + 1 if rel_dir else 0, spec)]
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_dir(follow_symlinks=False):
                if (
                    entry.name != ".git"
                    and entry.name not in policy
                    and not _ignored(rel, True, ignores)
                ):
                    stack.append((rel, ignores))
            elif not ignores or not _ignored(rel, False, ignores):
                files.append(rel)
    files.sort()
    return files
