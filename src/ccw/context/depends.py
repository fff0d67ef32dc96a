"""How much the files a prompt names depend on the other files of a pack.

Imports are read with one pattern per language (Python, JavaScript/TypeScript, Go, Rust,
Java) and resolved against the pack's own paths: a relative import by path from the importing
file, an absolute one by module name (``a.b.c``, ``a::b``, ``a/b``) matched against the
trailing folders and name of each path. The ranking walks imports breadth-first from the
named files: what they import directly comes first (most importers first), then what those
import, and so on; files never reached follow, closest in the tree to a named file first.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

_PY_IMPORT = re.compile(rb"^[ \t]*import[ \t]+([\w., \t]+)", re.M)
_PY_FROM = re.compile(
    rb"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(?:\(([^)]*)\)|([\w, \t]+))", re.M
)
_JS_FROM = re.compile(
    rb"""(?:\bfrom|\bimport|\brequire[ \t]*\(|\bimport[ \t]*\()[ \t]*['"]([^'"\n]+)['"]"""
)
_GO_BLOCK = re.compile(rb"^import[ \t]*\(([^)]*)\)", re.M)
_GO_ONE = re.compile(rb'^import[ \t]+(?:[\w.]+[ \t]+)?"([^"\n]+)"', re.M)
_GO_PATH = re.compile(rb'"([^"\n]+)"')
_RUST_USE = re.compile(rb"^[ \t]*(?:pub(?:\([^)]*\))?[ \t]+)?use[ \t]+([\w:]+)", re.M)
_RUST_MOD = re.compile(rb"^[ \t]*(?:pub(?:\([^)]*\))?[ \t]+)?mod[ \t]+(\w+)[ \t]*;", re.M)
_JAVA_IMPORT = re.compile(rb"^[ \t]*import[ \t]+(?:static[ \t]+)?([\w.]+)", re.M)

# File names that stand for their folder (``pkg/__init__.py`` is ``pkg``).
_FOLDER_FILES = frozenset({"__init__", "index", "mod", "lib"})
_EXTENSIONS = {
    "py": "py",
    "pyi": "py",
    "js": "js",
    "mjs": "js",
    "cjs": "js",
    "jsx": "js",
    "ts": "js",
    "tsx": "js",
    "mts": "js",
    "cts": "js",
    "go": "go",
    "rs": "rs",
    "java": "java",
}


class _Index:
    """The pack's paths by module name: every trailing run of folders and the name."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.by_suffix: dict[str, list[str]] = defaultdict(list)
        self.by_folder: dict[str, list[str]] = defaultdict(list)
        self.by_stem: dict[str, list[str]] = defaultdict(list)
        for path in paths:
            folder, _, name = path.rpartition("/")
            stem = name.rpartition(".")[0] or name
            self.by_folder[folder].append(path)
            parts = [*folder.split("/"), stem] if folder else [stem]
            self.by_stem["/".join(parts)].append(path)
            if stem in _FOLDER_FILES and folder:
                parts.pop()
                self.by_stem[folder].append(path)
            for index in range(len(parts)):
                self.by_suffix["/".join(parts[index:])].append(path)

    def named(self, module: str) -> list[str]:
        """The paths a module name (``/``-separated) stands for: the longest match of its
        leading parts (``a/b/Item`` finds ``a/b`` when no ``a/b/Item`` exists), from the
        pack's top first, else as the trailing folders of a path (two parts at least: one
        name alone is too common to place)."""
        parts = [part for part in module.split("/") if part]
        while parts:
            key = "/".join(parts)
            found = self.by_stem.get(key) or (self.by_suffix.get(key) if len(parts) > 1 else None)
            if found:
                return found
            parts.pop()
        return []

    def at(self, path: str) -> list[str]:
        """The paths a path relative to the pack stands for: a file (any extension) or a
        folder's index file."""
        return self.by_stem.get(posixpath.normpath(path), [])


def _python(path: str, data: bytes, index: _Index) -> list[str]:
    found: list[str] = []
    for match in _PY_IMPORT.finditer(data):
        for name in match[1].decode("ascii", "replace").split(","):
            module = name.strip().split()[0] if name.strip() else ""
            found += index.named(module.replace(".", "/"))
    package = posixpath.dirname(path)
    for match in _PY_FROM.finditer(data):
        dots, module = match[1].decode(), match[2].decode().replace(".", "/")
        listed = (match[3] or match[4]).decode("utf-8", "replace")
        names = [n.split()[0] for n in listed.split(",") if n.split()]
        if dots:
            base = package
            for _ in range(len(dots) - 1):
                base = posixpath.dirname(base)
            targets = [posixpath.join(base, module)] if module else [base]
            resolve: Callable[[str], list[str]] = index.at
        else:
            targets, resolve = [module], index.named
        for target in targets:
            subs = [hit for name in names for hit in resolve(posixpath.join(target, name))]
            found += subs or resolve(target)
    return found


def _javascript(path: str, data: bytes, index: _Index) -> list[str]:
    found: list[str] = []
    folder = posixpath.dirname(path)
    for match in _JS_FROM.finditer(data):
        spec = match[1].decode("utf-8", "replace")
        if spec.startswith("."):
            target = posixpath.join(folder, spec)
            stem = target.rpartition(".")[0] if "." in target.rpartition("/")[2] else target
            found += index.at(stem) or index.at(target)
        elif "/" in spec:
            found += index.named(spec)
    return found


def _go(path: str, data: bytes, index: _Index) -> list[str]:
    found: list[str] = []
    specs = [m[1] for m in _GO_ONE.finditer(data)]
    for block in _GO_BLOCK.finditer(data):
        specs += [m[1] for m in _GO_PATH.finditer(block[1])]
    for spec in specs:
        parts = spec.decode("utf-8", "replace").split("/")
        for start in range(len(parts)):  # the longest trailing run that is a folder
            files = index.by_folder.get("/".join(parts[start:]))
            if files:
                found += [f for f in files if f.endswith(".go")]
                break
    return found


def _rust(path: str, data: bytes, index: _Index) -> list[str]:
    found: list[str] = []
    folder = posixpath.dirname(path)
    for match in _RUST_MOD.finditer(data):
        found += index.at(posixpath.join(folder, match[1].decode()))
    for match in _RUST_USE.finditer(data):
        parts = match[1].decode().split("::")
        while parts and parts[0] in ("crate", "self", "super"):
            parts.pop(0)
        found += index.named("/".join(parts))
    return found


def _java(path: str, data: bytes, index: _Index) -> list[str]:
    return [
        hit
        for match in _JAVA_IMPORT.finditer(data)
        for hit in index.named(match[1].decode().replace(".", "/"))
    ]


_READERS: dict[str, Callable[[str, bytes, _Index], list[str]]] = {
    "py": _python,
    "js": _javascript,
    "go": _go,
    "rs": _rust,
    "java": _java,
}


def _family(path: str) -> str | None:
    """The language family of a path's extension (``ts`` and ``js`` import each other)."""
    extension = path.rpartition(".")[2].lower() if "." in path.rpartition("/")[2] else ""
    return _EXTENSIONS.get(extension)


def imports(path: str, data: bytes, index: _Index) -> list[str]:
    """The pack's files of the same language that ``path`` imports (itself left out)."""
    family = _family(path)
    reader = _READERS.get(family or "")
    if reader is None:
        return []
    return [
        hit
        for hit in dict.fromkeys(reader(path, data, index))
        if hit != path and _family(hit) == family
    ]


def rank(paths: Sequence[str], named: Iterable[str], read: Callable[[str], bytes]) -> list[str]:
    """``paths`` (the files not named), most depended upon by the ``named`` ones first.

    ``read`` gives a file's bytes; only files the walk reaches are read.
    """
    seeds = list(dict.fromkeys(named))
    index = _Index([*paths, *seeds])
    order = {path: position for position, path in enumerate(paths)}
    placed: dict[str, tuple[int, int]] = {path: (0, 0) for path in seeds}
    frontier = seeds
    depth = 0
    while frontier:
        depth += 1
        importers: dict[str, int] = defaultdict(int)
        for path in frontier:
            for target in imports(path, read(path), index):
                if target not in placed:
                    importers[target] += 1
        for target, count in importers.items():
            placed[target] = (depth, -count)
        frontier = sorted(importers, key=lambda p: (-importers[p], order[p]))
    reached = sorted((p for p in placed if p in order), key=lambda p: (*placed[p], order[p]))
    folders = [posixpath.dirname(path) for path in seeds]
    rest = sorted(
        (p for p in paths if p not in placed),
        key=lambda p: (-_closeness(posixpath.dirname(p), folders), order[p]),
    )
    return reached + rest


def _closeness(folder: str, named_folders: Sequence[str]) -> int:
    """How many leading folders ``folder`` shares with the nearest named file's folder."""
    parts = folder.split("/")
    best = 0
    for other in named_folders:
        shared = 0
        for mine, theirs in zip(parts, other.split("/"), strict=False):
            if mine != theirs:
                break
            shared += 1
        best = max(best, shared)
    return best
