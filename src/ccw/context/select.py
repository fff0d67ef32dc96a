"""Turn patterns into the list of files to pack: listing, ignore rules, containment, stat.

Inside a git work tree the listing is git's own view (tracked plus untracked files that are
not ignored), from one ``git ls-files`` per folder a pattern starts from. Elsewhere a
``scandir`` walk applies nested ``.gitignore`` files with git's semantics (see
``ccw.context.gitignore``) and prunes ignored folders. Containment is checked on real
paths: a symlink or ``..`` never leads outside the project root, an ``--include-dirs``
folder, or the folder an explicit ``../`` pattern names.

Globs also leave out, by policy, folders named in ``DEFAULT_EXCLUDED_DIRS`` (or the
configured ``excludeDirs``) and any folder holding ``pyvenv.cfg`` (a virtual environment),
counting the files so left out; explicit paths are never left out by policy. ``.git`` is
never listed, as in git.

Matching and stat'ing are two steps: ``Selector.run`` lists and matches (no stat), and
``Selector.stat`` stats one match when the pack can use it, so that a limited pack never
stats what it cannot hold (see ``ccw.context.limits``). A pattern that matches nothing from
the folder is tried from the project root above it. Besides the matches, a selection
returns the folders and ignore files whose stat fingerprints decide whether the listing
could have changed, so that a later call can trust a stored pack after stat calls alone
(taken only when a pack is stored).
"""

from __future__ import annotations

import bisect
import itertools
import operator
import os
import stat
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ccw.context import gitignore
from ccw.context.globs import expand_braces, is_glob, split_base, translate
from ccw.context.parse import Pattern

DEFAULT_EXCLUDED_DIRS = frozenset(
    {
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
VENV_REASON = "folders holding pyvenv.cfg"
_OPEN_IGNORE = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)

Fingerprint = tuple[int, int, int] | None
# Each ``.gitignore`` on the way down: (length of its folder's prefix, its rules).
RuleStack = list[tuple[int, list[gitignore.Rule]]]


def fingerprint(path: str) -> Fingerprint:
    """(mtime_ns, size, inode) of a path, following symlinks; None when it does not exist."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)


@dataclass(slots=True)
class Candidate:
    """A regular file chosen by a pattern, with the stat taken before reading it.

    ``path`` has no symlink in its last part (a symlink inside the project is resolved), so
    the reader can open it with ``O_NOFOLLOW`` and check that ``dev``/``ino`` are still the
    file that passed the containment check."""

    rel: str
    # The path is ``prefix + rel`` (one prefix string shared by every candidate: no path
    # string per file at 100,000 files), unless ``resolved`` holds another (a symlink's
    # target, a path outside the root).
    prefix: str
    resolved: str | None
    size: int
    mtime_ns: int
    ino: int
    dev: int
    explicit: bool

    @property
    def path(self) -> str:
        """The path to open."""
        if self.resolved is not None:
            return self.resolved
        return self.prefix + (self.rel if os.sep == "/" else self.rel.replace("/", os.sep))


class Match(NamedTuple):
    """A path a pattern matched (relative to the root, ``/``-separated), not yet stat'ed:
    ``roots`` are the folders it must stay inside, ``explicit`` says the pattern named it
    (not a glob or a folder)."""

    rel: str
    roots: tuple[str, ...]
    explicit: bool


class Run(NamedTuple):
    """Paths one pattern matched, in path order, that share their roots and explicitness."""

    rels: list[str]
    roots: tuple[str, ...]
    explicit: bool


class Matches:
    """The matched paths in pack order, held as runs that share their roots and
    explicitness: 100,000 matches are one list of strings, and a ``Match`` is made only for
    the index asked for."""

    __slots__ = ("_kinds", "_starts", "rels")

    def __init__(self) -> None:
        self.rels: list[str] = []
        self._starts: list[int] = []  # the index each run starts at
        self._kinds: list[tuple[tuple[str, ...], bool]] = []  # each run's (roots, explicit)

    def add(self, rels: list[str], roots: tuple[str, ...], explicit: bool) -> None:
        if not rels:
            return
        if not self._kinds or self._kinds[-1] != (roots, explicit):
            self._starts.append(len(self.rels))
            self._kinds.append((roots, explicit))
        self.rels.extend(rels)

    def __len__(self) -> int:
        return len(self.rels)

    def __getitem__(self, index: int) -> Match:
        roots, explicit = self._kinds[bisect.bisect_right(self._starts, index) - 1]
        return Match(self.rels[index], roots, explicit)

    def __iter__(self) -> Iterator[Match]:
        for start, end, roots, explicit in self.spans():
            for rel in itertools.islice(self.rels, start, end):
                yield Match(rel, roots, explicit)

    def spans(self) -> Iterator[tuple[int, int, tuple[str, ...], bool]]:
        """(start, end, roots, explicit) of each run."""
        ends = [*self._starts[1:], len(self.rels)] if self._starts else []
        for start, end, (roots, explicit) in zip(self._starts, ends, self._kinds, strict=True):
            yield start, end, roots, explicit


@dataclass
class Selection:
    """What the patterns matched, in pack order (patterns as written, sorted within each)."""

    matches: Matches = field(default_factory=Matches)
    # Include patterns that matched nothing, from the folder nor from the project root.
    unmatched: list[str] = field(default_factory=list)
    # The project root a pattern was also tried from (an ancestor of the folder), if any.
    project_root: str | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    watch: set[str] = field(default_factory=set)
    # Files a glob matched but the folder policy left out: reason -> count.
    excluded: dict[str, int] = field(default_factory=dict)


@dataclass
class _Listing:
    files: list[str] = field(default_factory=list)
    # (path, reason) of the files under a folder the policy leaves out.
    excluded: list[tuple[str, str]] = field(default_factory=list)


def _contained(real: str, roots: Sequence[str]) -> bool:
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _posix(path: str) -> str:
    return path.replace(os.sep, "/") if os.sep != "/" else path


class Selector:
    """Matches patterns (``run``), then stats the matches a pack can use (``stat``), so
    that a limited pack never stats what it cannot hold."""

    def __init__(
        self,
        root: Path,
        include_dirs: Sequence[Path],
        file_patterns: Sequence[str],
        exclude_dirs: Collection[str] | None,
    ) -> None:
        self.root = os.path.realpath(root)
        self.prefix = self.root.rstrip(os.sep) + os.sep  # a match's path is this + its rel
        self.policy = DEFAULT_EXCLUDED_DIRS if exclude_dirs is None else frozenset(exclude_dirs)
        # An empty collection turns the whole policy off, the pyvenv.cfg rule included.
        self.venvs = exclude_dirs is None or bool(exclude_dirs)
        self.allowed = [self.root, *(os.path.realpath(folder) for folder in include_dirs)]
        self.listings: dict[str, _Listing] = {}
        self.result = Selection()
        self.excluded: dict[str, str] = {}
        self.excludes: list[Any] = []
        self.file_filter: Any = None
        if file_patterns:
            from pathspec import GitIgnoreSpec

            self.file_filter = GitIgnoreSpec.from_lines(file_patterns)

    def rel(self, path: str) -> str:
        relative = os.path.relpath(path, self.root)
        return "" if relative == "." else _posix(relative)

    def run(self, patterns: Sequence[Pattern], project_root: str | None = None) -> Selection:
        """Match every pattern (nothing is stat'ed yet: see ``stat``)."""
        self.excludes = [_exclude_matcher(p.text) for p in patterns if p.exclude]
        matches = self.result.matches
        # The paths taken so far, made only once a second pattern could repeat one.
        seen: set[str] | None = None
        for pattern in patterns:
            if pattern.exclude:
                continue
            runs = self._found(pattern.text)
            if not runs and project_root is not None:
                runs = self._from_project_root(pattern, project_root)
            if not runs:
                self.result.unmatched.append(pattern.text)
                continue
            if seen is None and len(matches):
                seen = set(matches.rels)
            kept = 0
            for rels, roots, explicit in runs:
                if self.excludes or self.file_filter is not None:
                    rels = [rel for rel in rels if self._kept(rel, explicit)]
                kept += len(rels)
                fresh = [rel for rel in rels if rel not in seen] if seen else rels
                matches.add(fresh, roots, explicit)
                if seen is not None:
                    seen.update(fresh)
            if not kept:
                self.result.warnings.append(
                    f"every file pattern {pattern.text!r} matched was left out by the other "
                    "patterns or the endpoint's filePatterns"
                )
        if seen is None and self.excluded:
            seen = set(matches.rels)
        counts: dict[str, int] = {}
        for rel, reason in self.excluded.items():
            if seen is not None and rel not in seen and not self._excluded_by_pattern(rel):
                counts[reason] = counts.get(reason, 0) + 1
        self.result.excluded = dict(sorted(counts.items()))
        return self.result

    def _kept(self, rel: str, explicit: bool) -> bool:
        """Whether a match survives the exclude patterns and the endpoint's filePatterns."""
        if self.excludes and self._excluded_by_pattern(rel):
            return False
        if self.file_filter is not None and not self._allowed_by_filter(rel):
            if explicit:
                self.result.skipped.append((rel, "not in the endpoint's filePatterns"))
            return False
        return True

    def _found(self, text: str) -> list[Run]:
        """What one pattern matches, sorted by path, each path once."""
        globs = expand_braces(text)
        if len(globs) == 1:  # one sorted listing: no path twice, nothing to merge or sort
            run = self._resolve(globs[0])
            return [run] if run is not None and run.rels else []
        found: dict[str, tuple[tuple[str, ...], bool]] = {}
        for glob in globs:
            run = self._resolve(glob)
            if run is not None:
                for rel in run.rels:
                    found.setdefault(rel, (run.roots, run.explicit))
        runs: list[Run] = []
        for rel in sorted(found):
            roots, explicit = found[rel]
            if runs and (runs[-1].roots, runs[-1].explicit) == (roots, explicit):
                runs[-1].rels.append(rel)
            else:
                runs.append(Run([rel], roots, explicit))
        return runs

    def _from_project_root(self, pattern: Pattern, project_root: str) -> list[Run]:
        """A pattern that matched nothing from the folder, read from the project root above
        it (a path copied from the project's top level); a warning names the root used."""
        up = os.path.relpath(project_root, self.root)
        if os.path.isabs(pattern.text) or up == "." or not set(up.split(os.sep)) <= {".."}:
            return []
        self.result.project_root = project_root
        found = self._found(f"{_posix(up)}/{pattern.text.removeprefix('./')}")
        if found:
            self.result.warnings.append(
                f"pattern {pattern.text!r} matched no file in {self.root}; "
                f"it was read from the project root {project_root}"
            )
        return found

    def _excluded_by_pattern(self, rel: str) -> bool:
        return any(match(rel) for match in self.excludes)

    def _allowed_by_filter(self, rel: str) -> bool:
        while rel.startswith("../"):
            rel = rel[3:]
        return bool(self.file_filter.match_file(rel))

    def _resolve(self, glob: str) -> Run | None:
        """The files ``glob`` matches, in path order (a listing is sorted)."""
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
                    return None
                if is_glob(glob):
                    self._note_glob_reading(glob)
                parent = os.path.realpath(os.path.dirname(literal_path))
                roots = (*self.allowed, parent) if outside else tuple(self.allowed)
                return Run([self.rel(literal_path)], roots, True)
        else:
            head, rest = split_base(glob)
            base = os.path.normpath(os.path.join(self.root, head))
        base_real = os.path.realpath(base)
        roots = (*self.allowed, base_real) if outside else tuple(self.allowed)
        if not os.path.isdir(base_real):
            self.result.watch.add(base)
            return None
        base_rel = self.rel(base)
        if not _contained(base_real, roots):
            self.result.skipped.append((base_rel or ".", "outside the project root"))
            return None
        # ``**`` (a folder named as such) matches every path: no regex per file.
        matcher = None if rest == "**" else translate(rest)
        prefix = f"{base_rel}/" if base_rel else ""
        listing = self._listing(base_real)
        for relative, reason in listing.excluded:
            if matcher is None or matcher(relative):
                self.excluded.setdefault(prefix + relative, reason)
        if matcher is None:
            rels = [prefix + relative for relative in listing.files] if prefix else listing.files
        else:
            rels = [prefix + relative for relative in listing.files if matcher(relative)]
        return Run(rels, roots, False)

    def _note_glob_reading(self, glob: str) -> None:
        """A file named like a glob wins; say so when the glob would match more files."""
        head, rest = split_base(glob)
        base = os.path.realpath(os.path.join(self.root, head))
        if not os.path.isdir(base) or not _contained(base, self.allowed):
            return
        matcher = translate(rest)
        prefix = f"{head.rstrip('/')}/" if head.strip("/") else ""
        others = [
            prefix + relative
            for relative in self._listing(base).files
            if matcher(relative) and prefix + relative != glob
        ]
        if others:
            forced = _as_glob(glob)
            how = f"; write it as {forced} to read it as the glob" if forced else ""
            shown = ", ".join(others[:3]) + (
                f" and {len(others) - 3} more" if len(others) > 3 else ""
            )
            self.result.warnings.append(
                f"{glob!r} matched the file named {glob}; as a glob it would match {shown} too{how}"
            )

    def _listing(self, base_real: str) -> _Listing:
        if base_real not in self.listings:
            top = _git_top(base_real)
            listed = _git_listing(base_real, top, self.result.watch) if top else None
            self.listings[base_real] = (
                self._walk(base_real) if listed is None else self._apply_policy(*listed)
            )
        return self.listings[base_real]

    def _apply_policy(self, names: list[str], parents: set[str]) -> _Listing:
        """Split git's listing (and the folders holding its files) into the files kept and
        those under a policy folder."""
        venvs = {name[: -len("/pyvenv.cfg")] for name in names if name.endswith("/pyvenv.cfg")}
        listing = _Listing()
        # Decided once per folder (a few per hundred files), then looked up for each file.
        reasons: dict[str, str | None] = {"": None}
        for folder in parents:
            if folder not in reasons:
                reasons[folder] = self._policy_reason(folder.split("/"), venvs)
        if not any(reasons.values()):
            listing.files = names  # nothing is left out: no step per file
            return listing
        for name in names:
            folder = name.rpartition("/")[0]
            if folder not in reasons:
                reasons[folder] = self._policy_reason(folder.split("/"), venvs)
            reason = reasons[folder]
            if reason is None:
                listing.files.append(name)
            else:
                listing.excluded.append((name, reason))
        return listing

    def _policy_reason(self, folders: list[str], venvs: set[str]) -> str | None:
        for depth, part in enumerate(folders):
            if part in self.policy:
                return f"{part}/"
            if self.venvs and venvs and "/".join(folders[: depth + 1]) in venvs:
                return VENV_REASON
        return None

    def _walk(self, base_real: str) -> _Listing:
        """Files under ``base_real`` (relative, ``/``-separated) that git would list there,
        pruning ignored folders; nothing when ``base_real`` itself is ignored."""
        top = next((root for root in self.allowed if _contained(base_real, [root])), base_real)
        relative = os.path.relpath(base_real, top)
        parts = [] if relative == "." else relative.split(os.sep)
        stack: RuleStack = []
        folder, prefix = top, b""
        for part in parts:
            rules = _read_ignore(os.path.join(folder, ".gitignore"), self.result.watch)
            if rules:
                stack = [*stack, (len(prefix), rules)]
            if part == ".git" or gitignore.is_ignored(prefix + os.fsencode(part), True, stack):
                return _Listing()
            folder, prefix = os.path.join(folder, part), prefix + os.fsencode(part) + b"/"
        return _walk(base_real, prefix, stack, self.result.watch, self.policy, self.venvs)

    def stat(self, match: Match) -> Candidate | None:
        """The file to read for ``match``; None (and a skip reason when it was named
        explicitly or leads outside) when it is not a regular file inside its roots."""
        rel, roots, explicit = match
        outside = rel.startswith("../")
        if outside:
            path = os.path.normpath(os.path.join(self.root, rel))
        else:
            path = self.prefix + (rel if os.sep == "/" else rel.replace("/", os.sep))
        try:
            info = os.lstat(path)
            link = stat.S_ISLNK(info.st_mode)
            real = os.path.realpath(path) if link or explicit else path
            if (link or explicit) and not _contained(real, roots):
                reason = (
                    "symlink to a file outside the project root"
                    if link
                    else "outside the project root"
                )
                self.result.skipped.append((rel, reason))
                return None
            if link:
                path = real
                info = os.lstat(path)
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):
            if explicit:
                self.result.skipped.append((rel, "not a regular file"))
            return None
        resolved = path if link or outside else None
        return Candidate(
            rel, self.prefix, resolved, info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev,
            explicit,
        )  # fmt: skip


def select_files(
    patterns: Sequence[Pattern],
    root: Path,
    include_dirs: Sequence[Path] = (),
    file_patterns: Sequence[str] = (),
    exclude_dirs: Collection[str] | None = None,
) -> tuple[Selection, list[Candidate]]:
    """The selection and every matched regular file, stat'ed, in pack order.

    ``exclude_dirs`` names the folders globs leave out by policy: None is
    ``DEFAULT_EXCLUDED_DIRS``, an empty collection turns the policy off (the ``pyvenv.cfg``
    rule too)."""
    selector = Selector(root, include_dirs, file_patterns, exclude_dirs)
    selection = selector.run(patterns)
    found = (selector.stat(match) for match in selection.matches)
    return selection, [candidate for candidate in found if candidate is not None]


def _as_glob(glob: str) -> str | None:
    """The glob written so that no file can be named like it: one literal character of its
    last part as a class (``src/q?.py`` -> ``src/[q]?.py``)."""
    for index in range(glob.rfind("/") + 1, len(glob)):
        char = glob[index]
        if char not in "*?[]{}!^-\\/.,":
            return f"{glob[:index]}[{char}]{glob[index + 1 :]}"
    return None


def _exclude_matcher(text: str) -> Any:
    """``!name`` (no slash) excludes that name anywhere; ``!a/b*`` and ``!./name`` are path
    globs from the root."""
    anchored = text.startswith("./")
    text = (text[2:] if anchored else text).rstrip("/")
    globs = expand_braces(text)
    if not anchored and "/" not in text:
        names = [translate(glob) for glob in globs]
        return lambda rel: any(match(part) for part in rel.split("/") for match in names)
    paths = [translate(glob + tail) for glob in globs for tail in ("", "/**")]
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


def _git_listing(base: str, top: str, watch: set[str]) -> tuple[list[str], set[str]] | None:
    """Tracked and untracked-not-ignored files under ``base``, relative to it, and the
    folders holding them; None if git fails."""
    command = ["git", "-C", base, "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    listed = _output(command)
    if listed is None:
        return None
    names = listed.decode("utf-8", "surrogateescape").split("\0")
    names.pop()  # the empty string after the last NUL
    # Git lists the untracked files, then the index, each sorted: sorting two runs is a
    # merge. An unmerged path is listed once per stage, so twice in a row once sorted.
    names.sort()
    if any(map(operator.eq, names, itertools.islice(names, 1, None))):
        names = list(dict.fromkeys(names))
    parents = {name.rpartition("/")[0] for name in names}
    folders = {""}
    for folder in parents:
        while folder and folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    for folder in folders:
        watch.add(os.path.join(base, folder) if folder else base)
    git_dir = os.path.join(top, ".git")
    for extra in ("index", os.path.join("info", "exclude")):
        watch.add(os.path.join(git_dir, extra))
    folder = base
    while True:
        watch.add(os.path.join(folder, ".gitignore"))
        if folder == top or os.path.dirname(folder) == folder:
            break
        folder = os.path.dirname(folder)
    return names, parents


def _output(argv: list[str]) -> bytes | None:
    """What a command writes to stdout, or None when it cannot start or fails. Spawned
    directly: ``subprocess`` (threads, selectors, signals) would add its import to every
    pack's start-up."""
    if not hasattr(os, "posix_spawnp"):
        import subprocess

        try:
            done = subprocess.run(argv, capture_output=True, check=False)
        except OSError:
            return None
        return done.stdout if done.returncode == 0 else None
    read_end, write_end = os.pipe()
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_DUP2, write_end, 1),
        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
    ]
    try:
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
    except OSError:
        os.close(read_end)
        return None
    finally:
        os.close(write_end)
    chunks: list[bytes] = []
    try:
        with open(read_end, "rb", buffering=0, closefd=True) as pipe:
            while chunk := pipe.read(1 << 20):
                chunks.append(chunk)
    except BaseException:
        os.kill(pid, 9)  # SIGKILL
        os.waitpid(pid, 0)
        raise
    _, status = os.waitpid(pid, 0)
    return b"".join(chunks) if os.waitstatus_to_exitcode(status) == 0 else None


def _read_ignore(path: str, watch: set[str]) -> list[gitignore.Rule]:
    """The rules of one ``.gitignore``; a symlink is not followed (as git does not)."""
    watch.add(path)
    try:
        fd = os.open(path, _OPEN_IGNORE)
    except OSError:
        return []
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return []
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    except OSError:
        return []
    finally:
        os.close(fd)
    return gitignore.parse(b"".join(chunks))


def _walk(
    base: str,
    prefix: bytes,
    inherited: RuleStack,
    watch: set[str],
    policy: frozenset[str],
    venvs: bool,
) -> _Listing:
    """The walk below ``base``, whose path from the rules' top folder is ``prefix``."""
    listing = _Listing()
    pending: list[tuple[str, RuleStack, str | None]] = [("", inherited, None)]
    while pending:
        rel_dir, stack, reason = pending.pop()
        folder = os.path.join(base, rel_dir) if rel_dir else base
        try:
            with os.scandir(folder) as scan:
                entries = list(scan)
        except OSError:
            continue
        watch.add(folder)
        if reason is None and rel_dir and venvs and any(e.name == "pyvenv.cfg" for e in entries):
            reason = VENV_REASON
        dir_prefix = prefix + os.fsencode(rel_dir) + b"/" if rel_dir else prefix
        if any(entry.name == ".gitignore" for entry in entries):
            rules = _read_ignore(os.path.join(folder, ".gitignore"), watch)
            if rules:
                stack = [*stack, (len(dir_prefix), rules)]
        for entry in entries:
            name = entry.name
            if name == ".git":
                continue
            is_dir = entry.is_dir(follow_symlinks=False)
            if stack and gitignore.is_ignored(dir_prefix + os.fsencode(name), is_dir, stack):
                continue
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if is_dir:
                inner = reason or (f"{name}/" if name in policy else None)
                pending.append((rel, stack, inner))
            elif reason is None:
                listing.files.append(rel)
            else:
                listing.excluded.append((rel, reason))
    listing.files.sort()
    return listing
