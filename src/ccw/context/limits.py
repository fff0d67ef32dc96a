"""Which files a limited pack keeps, decided before any file is read.

When every match fits, the pack holds them all in pack order (patterns as written, sorted
within each). When a limit cuts the pack, files are ranked: the files a pattern names
explicitly first, then source files, then the rest (docs, data, locale files); the file
count limit takes the first files of that rank, in path order within each group, and stats
nothing beyond them (the rest are only counted); the total size limit then keeps, in the
same groups, smaller files before larger ones. The chosen files are still written in pack
order, and ``rule`` says in one line which rule chose them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ccw.context.select import Candidate, Match, Matches

# Extensions of files read as source code; anything else ranks after them.
SOURCE_EXTENSIONS = frozenset({
    "py", "pyi", "pyx", "js", "mjs", "cjs", "jsx", "ts", "tsx", "mts", "cts", "vue", "svelte",
    "go", "rs", "java", "kt", "kts", "scala", "c", "h", "cc", "cpp", "cxx", "hh", "hpp", "hxx",
    "cs", "fs", "swift", "m", "mm", "rb", "php", "pl", "pm", "lua", "r", "jl", "ex", "exs",
    "erl", "hrl", "clj", "cljs", "hs", "ml", "mli", "dart", "zig", "nim", "sh", "bash", "zsh",
    "fish", "ps1", "sql", "graphql", "proto", "thrift", "html", "htm", "css", "scss", "sass",
    "less", "tf", "hcl", "gradle", "cmake", "mk",
})  # fmt: skip
_SOURCE_NAMES = frozenset({"makefile", "dockerfile", "rakefile", "gemfile", "justfile"})
NAMED, SOURCE, OTHER = 0, 1, 2
GROUPS = ("named files", "source files", "other files")


def group(match: Match) -> int:
    """``NAMED`` for a file a pattern names, ``SOURCE`` for code, else ``OTHER``."""
    return NAMED if match.explicit else kind_of(match.rel)


def kind_of(rel: str) -> int:
    """``SOURCE`` for a path that names code, else ``OTHER``."""
    name = rel.rpartition("/")[2].lower()
    base, dot, extension = name.rpartition(".")
    if dot and base and extension in SOURCE_EXTENSIONS:
        return SOURCE
    return SOURCE if name in _SOURCE_NAMES else OTHER


def count_reason(max_files: int) -> str:
    return f"file count limit ({max_files}) reached"


def size_reason(limit: str) -> str:
    return f"total size limit of {limit} reached"


@dataclass
class Plan:
    """The files a pack may hold, in pack order, and how they were chosen."""

    files: list[Candidate] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)  # the group of each file
    # Reading order (indices into ``files``) when the total size limit cuts; else None.
    by_size: list[int] | None = None
    # Matches never stat'ed because the file count limit was reached before them.
    not_considered: int = 0
    rule: str | None = None


def plan(
    matches: Matches,
    accept: Callable[[Match], Candidate | None],
    max_files: int,
    max_total_bytes: int,
) -> Plan:
    """Choose the files to read. ``accept`` stats a match and returns its candidate, or
    None when the file is left out for a reason of its own (it then takes no place)."""
    result = Plan()
    count_cut = len(matches) > max_files
    order: Iterable[int] = _ranked(matches) if count_cut else range(len(matches))
    chosen: list[tuple[int, Candidate]] = []
    consumed = 0
    for index in order:
        if len(chosen) >= max_files:
            break
        consumed += 1
        candidate = accept(matches[index])
        if candidate is not None:
            chosen.append((index, candidate))
    result.not_considered = len(matches) - consumed
    chosen.sort(key=lambda pair: pair[0])
    result.files = [candidate for _, candidate in chosen]
    result.groups = [group(matches[index]) for index, _ in chosen]
    size_cut = sum(candidate.size for candidate in result.files) > max_total_bytes
    if size_cut:
        result.by_size = sorted(
            range(len(result.files)),
            key=lambda i: (result.groups[i], result.files[i].size, i),
        )
    result.rule = _rule(max_files if result.not_considered else None, size_cut, result.groups)
    return result


def _ranked(matches: Matches) -> Iterator[int]:
    """Indices of ``matches`` by group, in path order within each, computed only as far as
    they are taken: the named files, then one pass that yields source files and keeps the
    others for last (a file count limit filled by source files ranks nothing beyond)."""
    spans = list(matches.spans())
    for start, end, _, explicit in spans:
        if explicit:
            yield from range(start, end)
    others: list[int] = []
    rels = matches.rels
    for start, end, _, explicit in spans:
        if explicit:
            continue
        for index in range(start, end):
            if kind_of(rels[index]) == SOURCE:
                yield index
            else:
                others.append(index)
    yield from others


def _rule(max_files: int | None, size_cut: bool, groups: list[int]) -> str | None:
    """One line naming the rule that chose the files of a cut pack."""
    if max_files is None and not size_cut:
        return None
    present = [GROUPS[kind] for kind in sorted(set(groups))]
    ranked = ", then ".join(present) if len(present) > 1 else (present or ["files"])[0]
    parts = []
    if max_files is not None:
        parts.append(f"the file count limit ({max_files}) took {ranked}, in path order")
    if size_cut:
        parts.append(f"the total size limit kept {ranked}, smaller before larger")
    return "limits cut the pack: " + "; ".join(parts)
