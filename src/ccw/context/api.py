"""The context cache's public surface: a prompt with ``@patterns`` in, a packed context out.

``build_context`` parses the patterns, reuses a stored pack when a stat-only check shows
nothing changed, and otherwise selects, reads (only files that changed), checks, packs and
stores. The CLI (``ccw pack``, ``ccw cli``) and the HTTP server call these functions; the
cache commands and the dashboard use ``open_cache``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from ccw.context.options import SEPARATOR as SEPARATOR
from ccw.context.options import PackOptions
from ccw.context.pack import FORMATS, PackWriter
from ccw.context.parse import Pattern, find_patterns, plain_prompt
from ccw.context.parse import has_patterns as has_patterns
from ccw.context.secrets import secret_content, secret_name
from ccw.context.select import Candidate, fingerprint, select_files
from ccw.context.store import CacheStore, CacheUnavailable, CacheWriter, StoredEntry, StoredFile
from ccw.context.tokens import DEFAULT_MODEL, TokenCounter, estimate
from ccw.errors import CcwError, UsageError

if TYPE_CHECKING:
    from ccw.config.schema import Config, Endpoint

NOTHING_MATCHED = "no pattern matched: sending without context"
NOTHING_PACKED = "every matching file was left out: sending without context"
# A file modified this close to the moment it was packed may change again within the same
# mtime tick; such a file is re-read (and compared by hash) instead of trusted by stat.
RACY_NS = 2_000_000_000
PROGRESS_AFTER_S = 0.5
SPILL_BYTES = 16 * 1024 * 1024
# A file is opened without following a symlink and without blocking on a FIFO swapped in
# after selection; the descriptor is then checked to be the regular file that was selected.
_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
)
# In a stored entry's skipped list, the policy counts ride under a path no file can have.


@dataclass
class ContextRequest:
    prompt: str
    root: Path
    include_dirs: Sequence[Path] = ()
    file_patterns: Sequence[str] = ()
    # Folder names globs leave out (None: the default list; empty: no policy exclusion).
    exclude_dirs: Sequence[str] | None = None
    # Patterns exactly as typed (``ccw pack`` arguments); None: those written in the prompt.
    patterns: Sequence[Pattern] | None = None
    max_total_bytes: int = 512 * 1024
    max_file_bytes: int = 1024 * 1024
    max_files: int = 1000
    ttl_minutes: int = 60
    use_cache: bool = True
    cache_dir: Path | None = None
    max_cache_bytes: int = 100 * 1024 * 1024
    fmt: str = "xml"
    on_overflow: str = "skip"
    allow_secrets: bool = False
    tokens: str = "estimate"
    model: str | None = None
    progress: bool = True
    clock: Callable[[], float] = time.time


@dataclass
class PackedFile:
    path: str
    size: int
    tokens: int


@dataclass
class SkippedFile:
    path: str
    reason: str


@dataclass
class ContextResult:
    pack: str
    prompt: str
    files: list[PackedFile] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Files a glob matched that the folder policy left out, by reason ("build/": 12).
    excluded: dict[str, int] = field(default_factory=dict)
    cache_used: bool = False
    session_id: str | None = None
    total_tokens: int = 0
    pack_bytes: int = 0
    files_read: int = 0

    def final_prompt(self) -> str:
        """The pack, the separator and the prompt; just the prompt when nothing was packed."""
        return self.pack + SEPARATOR + self.prompt if self.pack else self.prompt

    def to_json(self) -> dict[str, Any]:
        return {
            "sessionId": self.session_id,
            "cacheUsed": self.cache_used,
            "cachedFiles": [item.path for item in self.files],
            "files": [vars(item) for item in self.files],
            "skipped": [vars(item) for item in self.skipped],
            "warnings": self.warnings,
            "excludedByPolicy": self.excluded,
            "totalTokens": self.total_tokens,
            "packBytes": self.pack_bytes,
        }


def build_context(request: ContextRequest) -> ContextResult:
    """Pack the files the prompt's patterns name; ``result.pack`` holds the text."""
    out = io.BytesIO()
    result = _Build(request, out).run()
    result.pack = out.getvalue().decode("utf-8", "replace")
    return result


def stream_context(request: ContextRequest, out: BinaryIO) -> ContextResult:
    """Like ``build_context`` but the pack is written to ``out`` as it is made (low memory);
    ``result.pack`` stays empty."""
    return _Build(request, out).run()


def open_cache(config: Config, project_root: Path) -> CacheStore:
    """The cache store of ``globalCacheSettings``."""
    from ccw.paths import expand_dir

    settings = config.global_cache_settings
    return CacheStore(
        expand_dir(settings.cache_dir, project_root),
        int(settings.max_total_size_mb * 1024 * 1024),
        enabled=settings.enabled,
    )


def context_request(
    prompt: str,
    root: Path,
    config: Config,
    project_root: Path,
    endpoint: Endpoint | None = None,
    options: PackOptions | None = None,
    *,
    patterns: Sequence[Pattern] | None = None,
    **legacy: Any,
) -> ContextRequest:
    """A request with the limits, TTL and cache settings of ``config`` and ``endpoint``,
    packed as ``options`` say; ``patterns`` are taken as typed instead of from the prompt.

    ``legacy`` (PackOptions fields as keywords) is the older form of ``options``."""
    from ccw.paths import expand_dir

    options = options or PackOptions()
    if legacy:
        if "include_dirs" in legacy:
            legacy["include_dirs"] = tuple(legacy["include_dirs"])
        options = replace(options, **legacy)
    settings = config.global_cache_settings
    strategy = endpoint.cache_strategy if endpoint is not None else None
    use_cache = options.use_cache and settings.enabled and (strategy is None or strategy.enabled)
    excluded = options.exclude_dirs
    request = ContextRequest(
        prompt=prompt,
        root=root,
        include_dirs=options.include_dirs,
        exclude_dirs=settings.exclude_dirs if excluded is None else excluded,
        patterns=patterns,
        cache_dir=expand_dir(settings.cache_dir, project_root) if use_cache else None,
        max_cache_bytes=int(settings.max_total_size_mb * 1024 * 1024),
        use_cache=use_cache,
        fmt=options.fmt,
        on_overflow=options.on_overflow,
        allow_secrets=options.allow_secrets,
        tokens=options.tokens,
    )
    if strategy is not None and endpoint is not None:
        request.ttl_minutes = strategy.ttl_minutes
        request.max_total_bytes = strategy.max_size_kb * 1024
        request.file_patterns = list(strategy.file_patterns)
        request.model = endpoint.model
    if options.max_total_bytes is not None:
        request.max_total_bytes = options.max_total_bytes
    if options.max_files is not None:
        request.max_files = options.max_files
    return request


def _size(count: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if count < 1024 or unit == "MB":
            return f"{count} {unit}"
        count //= 1024
    return f"{count} MB"


class _Tee:
    """The pack's byte sink: the caller's stream, the running hash and the spill for storing."""

    def __init__(self, out: BinaryIO, spill: IO[bytes] | None) -> None:
        self.out = out
        self.spill = spill
        self.hasher = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> int:
        self.out.write(chunk)
        if self.spill is not None:
            self.hasher.update(chunk)
            self.spill.write(chunk)
        self.size += len(chunk)
        return len(chunk)


class _Progress:
    """A Rich bar on stderr, shown only on a terminal and only once packing takes a while."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled and total > 0 and sys.stderr.isatty()
        self.total = total
        self.started = time.monotonic()
        self.bar: Any = None
        self.task: Any = None

    def advance(self, done: int) -> None:
        if not self.enabled or done % 64:
            return
        if self.bar is None:
            if time.monotonic() - self.started < PROGRESS_AFTER_S:
                return
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("packing", total=self.total)
        self.bar.update(self.task, completed=done)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


class _Build:
    def __init__(self, request: ContextRequest, out: BinaryIO) -> None:
        self.request = request
        self.out = out
        self.patterns = (
            list(request.patterns)
            if request.patterns is not None
            else find_patterns(request.prompt)
        )
        self.result = ContextResult(pack="", prompt=plain_prompt(request.prompt))
        self.root = os.path.realpath(request.root)
        self.store: CacheStore | None = None
        # The store as opened: ``store`` becomes None once it fails, its warnings stay here.
        self.opened: CacheStore | None = None
        self.replay_failed = False

    def run(self) -> ContextResult:
        result = self._run()
        if self.opened is not None and self.opened.warnings:
            result.warnings[:0] = [w for w in self.opened.warnings if w not in result.warnings]
        return result

    def _run(self) -> ContextResult:
        request = self.request
        if not any(not pattern.exclude for pattern in self.patterns):
            return self.result
        _check_options(request)
        if request.use_cache and request.cache_dir is not None:
            self.store = CacheStore(request.cache_dir, request.max_cache_bytes, clock=request.clock)
            self.opened = self.store
        key = _key(request, self.patterns, self.root)
        stored = self._lookup(key)
        if stored is not None and stored.expires <= request.clock():
            stored = None
        if stored is not None and _unchanged(stored):
            if self._replay(stored):
                return self.result
            self.replay_failed = True  # the stored pack is gone: store the new one afresh
        return self._pack(key, stored)

    def _cache_failed(self, error: CacheUnavailable) -> None:
        self.result.warnings.append(f"{error.message}; going on without the cache")
        self.store = None

    def _lookup(self, key: str) -> StoredEntry | None:
        if self.store is None:
            return None
        try:
            return self.store.lookup(key)
        except CacheUnavailable as error:
            self._cache_failed(error)
            return None

    def _replay(self, stored: StoredEntry) -> bool:
        """Write the stored pack: the hit that costs stat calls only."""
        assert self.store is not None
        counted = _Tee(self.out, None)
        try:
            if not self.store.copy_blob(stored.pack_hash, counted):
                return False
        except CacheUnavailable as error:
            if counted.size:
                raise CcwError(
                    f"the context cache failed while the stored pack was read: {error.message}",
                    "run the command again (the cache was checked and is packed afresh)",
                ) from None
            self._cache_failed(error)
            return False
        result = self.result
        try:
            self.store.record_hit(stored)
        except CacheUnavailable as error:
            result.warnings.append(f"{error.message}; the hit was not counted")
        result.files = [
            PackedFile(item.path, item.size, item.tokens)
            for item in stored.files
            if item.reason is None
        ]
        result.skipped = [SkippedFile(path, reason) for path, reason in stored.skipped]
        result.excluded = dict(stored.excluded)
        result.warnings.extend(stored.warnings)
        result.cache_used = True
        result.session_id = stored.id
        result.total_tokens = stored.tokens
        result.pack_bytes = stored.bytes
        return True

    def _pack(self, key: str, stored: StoredEntry | None) -> ContextResult:
        request, result = self.request, self.result
        packed_ns = time.time_ns()
        selection = select_files(
            self.patterns,
            Path(self.root),
            request.include_dirs,
            request.file_patterns,
            request.exclude_dirs,
        )
        result.warnings.extend(selection.warnings)
        result.excluded = selection.excluded
        result.skipped.extend(SkippedFile(path, reason) for path, reason in selection.skipped)
        progress = _Progress(request.progress, len(selection.files))
        with contextlib.ExitStack() as stack:
            stack.callback(progress.stop)
            sink = self._open_sink(stack)
            counter = TokenCounter(request.tokens, request.model, self._known_tokens())
            spill = None
            if sink is not None:
                spill = stack.enter_context(tempfile.SpooledTemporaryFile(SPILL_BYTES))
            tee = _Tee(self.out, spill)
            writer = PackWriter(request.fmt, tee)
            reuse = _reusable(stored)
            records: list[StoredFile] = []
            for done, candidate in enumerate(selection.files, 1):
                self._add(candidate, reuse, writer, counter, sink, records)
                progress.advance(done)
            writer.close()
            self._finish(key, stored, records, tee, counter, sink, packed_ns, selection.watch)
        if not selection.files and not result.skipped:
            result.warnings.append(NOTHING_MATCHED)
        elif not result.files:
            result.warnings.append(NOTHING_PACKED)
        return result

    def _open_sink(self, stack: contextlib.ExitStack) -> CacheWriter | None:
        if self.store is None:
            return None
        try:
            return stack.enter_context(self.store.writer())
        except CacheUnavailable as error:
            self._cache_failed(error)
            return None

    def _known_tokens(self) -> dict[str, int]:
        if self.request.tokens != "exact" or self.store is None:
            return {}
        try:
            return self.store.token_counts(self.request.model or DEFAULT_MODEL)
        except CacheUnavailable as error:
            self._cache_failed(error)
            return {}

    def _skip(self, path: str, reason: str, overflow: bool = False) -> None:
        if overflow and self.request.on_overflow == "fail":
            raise CcwError(
                f"{path} does not fit: {reason}",
                "raise the limit (maxSizeKB of the endpoint), narrow the patterns, "
                "or use --on-overflow skip",
            )
        self.result.skipped.append(SkippedFile(path, reason))

    def _add(
        self,
        candidate: Candidate,
        reuse: dict[str, StoredFile],
        writer: PackWriter,
        counter: TokenCounter,
        sink: CacheWriter | None,
        records: list[StoredFile],
    ) -> None:
        request, result = self.request, self.result
        rel = candidate.rel
        if not request.allow_secrets:
            kind = secret_name(rel)
            if kind is not None:
                self._skip(rel, f"secret file ({kind}); --allow-secrets includes it")
                return
        if candidate.size > request.max_file_bytes:
            limit = _size(request.max_file_bytes)
            self._skip(rel, f"larger than the per-file limit of {limit}", overflow=True)
            return
        if len(result.files) >= request.max_files:
            self._skip(rel, f"file count limit ({request.max_files}) reached", overflow=True)
            return
        if result.pack_bytes + candidate.size > request.max_total_bytes:
            limit = _size(request.max_total_bytes)
            self._skip(rel, f"total size limit of {limit} reached", overflow=True)
            return
        stat_key: tuple[int, int, int] = (candidate.size, candidate.mtime_ns, candidate.ino)
        old = reuse.get(rel)
        data: bytes | None = None
        digest: str | None = None
        if old is not None and (old.size, old.mtime_ns, old.ino) == stat_key:
            if old.reason is not None:
                self._skip(rel, old.reason)
                records.append(old)
                return
            data = sink.read_blob(old.hash) if sink is not None and old.hash else None
            digest = old.hash if data is not None else None
        if data is None:
            try:
                data, stat_key = _read(candidate, request.max_file_bytes)
            except _Changed as error:
                self._skip(rel, str(error))
                return
            except OSError as error:
                self._skip(rel, f"unreadable: {error.strerror}")
                return
            result.files_read += 1
            if len(data) > request.max_file_bytes:
                limit = _size(request.max_file_bytes)
                self._skip(rel, f"grew past the per-file limit of {limit}", overflow=True)
                return
            if result.pack_bytes + len(data) > request.max_total_bytes:
                limit = _size(request.max_total_bytes)
                self._skip(rel, f"total size limit of {limit} reached", overflow=True)
                return
            reason = _content_problem(data, request.allow_secrets)
            if reason is not None:
                self._skip(rel, reason)
                records.append(StoredFile(rel, *stat_key, None, 0, reason))
                return
            if sink is not None or counter.exact:
                digest = hashlib.sha256(data).hexdigest()
            if sink is not None and digest is not None:
                sink.put_blob(digest, data)
        writer.add(rel, data)
        tokens = counter.count(data, digest)
        result.files.append(PackedFile(rel, len(data), tokens))
        result.pack_bytes += len(data)
        records.append(StoredFile(rel, *stat_key, digest, tokens))

    def _finish(
        self,
        key: str,
        stored: StoredEntry | None,
        records: list[StoredFile],
        tee: _Tee,
        counter: TokenCounter,
        sink: CacheWriter | None,
        packed_ns: int,
        watch: set[str],
    ) -> None:
        result, request = self.result, self.request
        result.total_tokens = sum(item.tokens for item in result.files) + estimate(
            tee.size - result.pack_bytes
        )
        result.pack_bytes = tee.size
        pack_hash = tee.hasher.hexdigest()
        if sink is None or self.store is None or not result.files:
            return
        if sink.error is not None:
            self.result.warnings.append(f"the context cache failed ({sink.error}); not stored")
            return
        now = request.clock()
        entry = StoredEntry(
            id="ctx-" + hashlib.sha256(f"{key}:{pack_hash}".encode()).hexdigest()[:16],
            key=key,
            root=self.root,
            patterns=[("!" if p.exclude else "") + p.text for p in self.patterns],
            pack_hash=pack_hash,
            bytes=tee.size,
            tokens=result.total_tokens,
            created=now,
            expires=now + request.ttl_minutes * 60,
            packed_ns=packed_ns,
            files=records,
            skipped=[(item.path, item.reason) for item in result.skipped],
            excluded=dict(result.excluded),
            warnings=list(result.warnings),
            watch={path: fingerprint(path) for path in sorted(watch)},
        )
        if (
            stored is not None
            and not self.replay_failed
            and stored.pack_hash == pack_hash
            and stored.id == entry.id
        ):
            stored.files, stored.packed_ns, stored.watch = records, packed_ns, entry.watch
            result.cache_used = True
            result.session_id = stored.id
            if not sink.record_hit(stored):
                result.warnings.append(f"the context cache failed ({sink.error})")
            return
        assert tee.spill is not None
        tee.spill.seek(0)
        if sink.finish(entry, counter.new, counter.model, tee.spill):
            result.session_id = entry.id
        elif sink.error is not None:
            self.result.warnings.append(f"the context cache failed ({sink.error}); not stored")
        else:
            limit = _size(self.store.max_bytes)
            result.warnings.append(
                f"the pack ({_size(tee.size)}) is larger than the cache limit of {limit}; "
                "not stored"
            )


def _check_options(request: ContextRequest) -> None:
    if request.fmt not in FORMATS:
        raise UsageError(f"unknown format {request.fmt!r}", f"use one of: {', '.join(FORMATS)}")
    if request.on_overflow not in ("skip", "fail"):
        raise UsageError(f"unknown --on-overflow {request.on_overflow!r}", "use skip or fail")
    if request.tokens not in ("estimate", "exact"):
        raise UsageError(f"unknown --tokens {request.tokens!r}", "use estimate or exact")


def _key(request: ContextRequest, patterns: list[Pattern], root: str) -> str:
    """What a pack depends on besides the files: patterns, root and options."""
    material = {
        "v": 2,
        "root": root,
        "includeDirs": [os.path.realpath(folder) for folder in request.include_dirs],
        "patterns": [[p.text, p.exclude] for p in patterns],
        "filePatterns": list(request.file_patterns),
        "excludeDirs": None if request.exclude_dirs is None else sorted(request.exclude_dirs),
        "limits": [request.max_total_bytes, request.max_file_bytes, request.max_files],
        "format": request.fmt,
        "allowSecrets": request.allow_secrets,
        "tokens": [request.tokens, request.model if request.tokens == "exact" else None],
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _unchanged(stored: StoredEntry) -> bool:
    """The stat-only check: every file and every watched folder as it was, none racy."""
    limit = stored.packed_ns - RACY_NS
    for item in stored.files:
        if item.mtime_ns >= limit:
            return False
        try:
            info = os.stat(os.path.join(stored.root, item.path))
        except OSError:
            return False
        if (info.st_size, info.st_mtime_ns, info.st_ino) != (item.size, item.mtime_ns, item.ino):
            return False
    for path, old in stored.watch.items():
        if old is not None and old[0] >= limit:
            return False
        current = fingerprint(path)
        if (list(current) if current is not None else None) != old:
            return False
    return True


def _reusable(stored: StoredEntry | None) -> dict[str, StoredFile]:
    """Stored files whose stat can be trusted (not modified right around the last pack)."""
    if stored is None:
        return {}
    limit = stored.packed_ns - RACY_NS
    return {item.path: item for item in stored.files if item.mtime_ns < limit}


class _Changed(Exception):
    """The path no longer names the file that was selected (swapped for a symlink, a FIFO
    or another file between selection and reading)."""


def _read(candidate: Candidate, limit: int) -> tuple[bytes, tuple[int, int, int]]:
    """At most ``limit + 1`` bytes of the selected file and the (size, mtime_ns, inode) of
    the descriptor read. ``os.read`` skips the buffered-file machinery ``open`` sets up."""
    try:
        fd = os.open(candidate.path, _READ_FLAGS)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _Changed("replaced by a symlink while packing") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Changed("replaced by something other than a regular file while packing")
        if (info.st_dev, info.st_ino) != (candidate.dev, candidate.ino):
            raise _Changed("replaced by another file while packing")
        chunks, left = [], limit + 1
        while left > 0 and (chunk := os.read(fd, min(left, max(candidate.size + 1, 1 << 16)))):
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    return data, (info.st_size, info.st_mtime_ns, info.st_ino)


def _content_problem(data: bytes, allow_secrets: bool) -> str | None:
    if b"\0" in data:
        return "binary (NUL byte)"
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return "binary (not UTF-8 text)"
    if not allow_secrets:
        kind = secret_content(data)
        if kind is not None:
            return f"holds a secret ({kind}); --allow-secrets includes it"
    return None
