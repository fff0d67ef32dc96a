"""The packing path of a miss: select, read (only files that changed), check, pack, store.

The files are packed in order and streamed to the caller's sink while the pack's text is
stored in chunks; the bytes of files whose stat is unchanged since the stored pack are taken
from its text instead of read again. The pack's text is never held whole. Progress goes to
``request.on_progress``, problems to ``result.warnings``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ccw.context.build import Build
from ccw.context.freshness import reusable
from ccw.context.limits import count_reason, plan, size_reason
from ccw.context.manifest import INO_MASK, ManifestBuilder, Watched
from ccw.context.pack import PackWriter
from ccw.context.read import ChangedError, content_problem, read_selected
from ccw.context.request import ByteSink, ContextResult, PackedFile, SkippedFile
from ccw.context.secrets import secret_name
from ccw.context.select import Candidate, Match, Matches, Selection, Selector, fingerprint
from ccw.context.store import CacheStore, CacheUnavailable, CacheWriter, StoredEntry
from ccw.context.tokens import DEFAULT_MODEL, TokenCounter, estimate
from ccw.errors import CcwError, UsageError

NOTHING_MATCHED = "no pattern matched: sending without context"
NOTHING_PACKED = "every matching file was left out: sending without context"


def _size(count: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if count < 1024 or unit == "MB":
            return f"{count} {unit}"
        count //= 1024
    return f"{count} MB"


@dataclass(slots=True)
class _Content:
    """A file's checked bytes, the stat of what was read and, for bytes taken from the
    stored pack, the tokens counted when they were stored."""

    data: bytes
    stat_key: tuple[int, int, int]
    tokens: int | None = None


@dataclass
class _Packing:
    """What one pack is written with: the writer, the token counter, the cache writer, the
    stored pack whose files' bytes may be reused and the records to store."""

    writer: PackWriter
    counter: TokenCounter
    sink: CacheWriter | None
    stored: StoredEntry | None
    reuse: dict[str, int]  # path -> index in the stored pack's manifest
    records: ManifestBuilder = field(default_factory=ManifestBuilder)


class _Tee:
    """The caller's sink and the cache writer, fed the same bytes (the caller's first)."""

    def __init__(self, out: ByteSink, sink: CacheWriter) -> None:
        self.out = out
        self.sink = sink

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.sink.write(data)


class Packer:
    """The packing of one call, on the state of its ``Build``."""

    def __init__(self, build: Build) -> None:
        self.build = build
        self.request = build.request
        self.out = build.out
        self.result = build.result
        self.root = build.root
        self.patterns = build.patterns
        self.files: list[PackedFile] = []
        self.result.files = self.files

    @property
    def store(self) -> CacheStore | None:
        """The cache while it works (``Build.cache_failed`` drops it)."""
        return self.build.store

    def run(self, key: str, stored: StoredEntry | None) -> ContextResult:
        """Select, read, check and pack the files, storing the pack when it may be."""
        request, result = self.request, self.result
        packed_ns = time.time_ns()
        selector = Selector(
            Path(self.root), request.include_dirs, request.file_patterns, request.exclude_dirs
        )
        selection = selector.run(self.patterns, self._project_root())
        self._check_unmatched(selection)
        result.warnings.extend(selection.warnings)
        result.excluded = selection.excluded
        result.skipped.extend(SkippedFile(path, reason) for path, reason in selection.skipped)
        chosen = plan(
            selection.matches,
            lambda match: self._accept(selector, match),
            request.max_files,
            request.max_total_bytes,
        )
        matched = len(selection.matches)
        # The chosen files are all that is needed from here on: the matches and the folder
        # listings (100,000 names at 100,000 files) go before the pack is made.
        selection.matches = Matches()
        selector.listings.clear()
        if chosen.not_considered:
            self._count_overflow(matched)
            result.left_out[count_reason(request.max_files)] = chosen.not_considered
        result.rule = chosen.rule
        total = len(chosen.files)
        if request.on_progress is not None and total:
            request.on_progress(0, total)
        store = self._will_store(chosen.files)
        with contextlib.ExitStack() as stack:
            sink = self._open_sink(stack) if store else None
            counter = TokenCounter(request.tokens, request.model, self._known_tokens())
            writer = PackWriter(request.fmt, self.out if sink is None else _Tee(self.out, sink))
            packing = _Packing(writer, counter, sink, stored, reusable(stored))
            if chosen.by_size is None:
                # Taken off the list as they are packed: a packed file's candidate is freed
                # while the pack's records grow (less peak memory at 100,000 files).
                pending = chosen.files[::-1]
                chosen.files = []
                while pending:
                    candidate = pending.pop()
                    content = self._read(candidate, packing, result.pack_bytes)
                    if content is not None:
                        self._take(candidate.rel, content, packing)
                    self._progress(total - len(pending), total)
            else:
                self._pack_by_size(chosen.files, chosen.by_size, packing)
            packing.writer.close()
            self._finish(key, stored, packing, packed_ns, selector.result.watch)
        if not matched and not result.skipped:
            result.warnings.append(NOTHING_MATCHED)
        elif not result.files:
            result.warnings.append(NOTHING_PACKED)
        return result

    def _progress(self, done: int, total: int) -> None:
        if self.request.on_progress is not None:
            self.request.on_progress(done, total)

    def _pack_by_size(self, files: list[Candidate], order: list[int], packing: _Packing) -> None:
        """The total size limit cuts the pack: read in rank order (smaller first within each
        group) while the files fit, then write the ones kept in pack order."""
        request = self.request
        kept: dict[int, _Content] = {}
        used = 0
        limit = _size(request.max_total_bytes)
        for done, index in enumerate(order, 1):
            candidate = files[index]
            if used + candidate.size > request.max_total_bytes:
                self._skip(candidate.rel, size_reason(limit), overflow=True)
            else:
                content = self._read(candidate, packing, used)
                if content is not None:
                    kept[index] = content
                    used += len(content.data)
            self._progress(done, len(order))
        for index in sorted(kept):
            self._take(files[index].rel, kept[index], packing)

    def _project_root(self) -> str | None:
        folder = self.request.project_root
        return None if folder is None else os.path.realpath(folder)

    def _check_unmatched(self, selection: Selection) -> None:
        """A pattern that matches no file is a usage error before anything is sent, or a
        warning with ``allow_empty``."""
        if not selection.unmatched:
            return
        names = ", ".join(repr(text) for text in selection.unmatched)
        where = f"in {self.root}"
        if selection.project_root is not None:
            where += f" nor from the project root {selection.project_root}"
        noun = "pattern" if len(selection.unmatched) == 1 else "patterns"
        message = f"{noun} {names} matched no file {where}"
        if self.request.allow_empty:
            self.result.warnings.append(message)
            return
        hint = ""
        if selection.excluded:
            hint = " (files under folders left out by policy count as no match: --no-exclude-dirs)"
        raise UsageError(
            message + hint,
            "check the path (it is read from the current folder), or pass --allow-empty "
            "to pack the rest",
        )

    def _count_overflow(self, matched: int) -> None:
        if self.request.on_overflow == "fail":
            limit = self.request.max_files
            raise CcwError(
                f"{matched} files match, more than the file count limit of {limit}",
                f"raise the file count limit (--max-files {matched}), narrow the patterns, "
                "or use --on-overflow skip",
            )

    def _will_store(self, files: list[Candidate]) -> bool:
        """Whether the pack can be stored at all: its files must fit under the cache limit.
        Said up front, nothing written."""
        if self.store is None:
            return False
        content = min(sum(candidate.size for candidate in files), self.request.max_total_bytes)
        if content <= self.store.max_bytes:
            return True
        self.result.warnings.append(
            f"the pack's files ({_size(content)}) are larger than the cache "
            f"limit of {_size(self.store.max_bytes)}; it is not stored (raise "
            "globalCacheSettings.maxTotalSizeMB, or use --no-cache)"
        )
        return False

    def _open_sink(self, stack: contextlib.ExitStack) -> CacheWriter | None:
        if self.store is None:
            return None
        try:
            return stack.enter_context(self.store.writer())
        except CacheUnavailable as error:
            self.build.cache_failed(error)
            return None

    def _known_tokens(self) -> dict[str, int]:
        if self.request.tokens != "exact" or self.store is None:
            return {}
        try:
            return self.store.token_counts(self.request.model or DEFAULT_MODEL)
        except CacheUnavailable as error:
            self.build.cache_failed(error)
            return {}

    def _skip(self, path: str, reason: str, overflow: bool = False) -> None:
        if overflow and self.request.on_overflow == "fail":
            raise CcwError(f"{path} does not fit: {reason}", self._overflow_fix(reason))
        self.result.skipped.append(SkippedFile(path, reason))

    def _overflow_fix(self, reason: str) -> str:
        """The limit that was hit and what raises it."""
        if "per-file limit" in reason:
            return (
                f"the per-file limit of {_size(self.request.max_file_bytes)} is fixed: narrow "
                "the patterns to leave the file out, or use --on-overflow skip"
            )
        return (
            f"raise the total size limit (--max-size-kb, or the endpoint's "
            f"cacheStrategy.maxSizeKB; now {self.request.max_total_bytes // 1024}), narrow the "
            "patterns, or use --on-overflow skip"
        )

    def _accept(self, selector: Selector, match: Match) -> Candidate | None:
        """The candidate for a match that may take a place in the pack: not a secret by
        name, a regular file inside its roots, under the per-file limit."""
        request = self.request
        if not request.allow_secrets:
            kind = secret_name(match.rel)
            if kind is not None:
                self._skip(match.rel, f"secret file ({kind}); --allow-secrets includes it")
                return None
        listed = len(selector.result.skipped)
        candidate = selector.stat(match)
        for path, reason in selector.result.skipped[listed:]:
            self.result.skipped.append(SkippedFile(path, reason))
        if candidate is not None and candidate.size > request.max_file_bytes:
            limit = _size(request.max_file_bytes)
            self._skip(match.rel, f"larger than the per-file limit of {limit}", overflow=True)
            return None
        return candidate

    def _read(self, candidate: Candidate, packing: _Packing, used: int) -> _Content | None:
        """The file's bytes (from the store when its stat is unchanged, else from disk),
        checked; None when it is left out (``used``: bytes already in the pack)."""
        request, sink = self.request, packing.sink
        rel = candidate.rel
        stat_key: tuple[int, int, int] = (candidate.size, candidate.mtime_ns, candidate.ino)
        index = packing.reuse.get(rel)
        old = (
            None if index is None or packing.stored is None else packing.stored.manifest.file(index)
        )
        if old is not None and (old.size, old.mtime_ns, old.ino & INO_MASK) == (
            stat_key[0],
            stat_key[1],
            stat_key[2] & INO_MASK,
        ):
            if old.reason is not None:
                self._skip(rel, old.reason)
                packing.records.add_file(old)
                return None
            data = None
            if sink is not None and packing.stored is not None and old.offset >= 0:
                data = sink.read_range(packing.stored.pack, old.offset, old.length)
            if data is not None and used + len(data) <= request.max_total_bytes:
                return _Content(data, stat_key, old.tokens)
        try:
            data, stat_key = read_selected(candidate, request.max_file_bytes)
        except ChangedError as error:
            self._skip(rel, str(error))
            return None
        except OSError as error:
            self._skip(rel, f"unreadable: {error.strerror}")
            return None
        self.result.files_read += 1
        if len(data) > request.max_file_bytes:
            limit = _size(request.max_file_bytes)
            self._skip(rel, f"grew past the per-file limit of {limit}", overflow=True)
            return None
        if used + len(data) > request.max_total_bytes:
            self._skip(rel, size_reason(_size(request.max_total_bytes)), overflow=True)
            return None
        reason = content_problem(data, request.allow_secrets)
        if reason is not None:
            self._skip(rel, reason)
            packing.records.add(rel, stat_key, 0, reason=reason)
            return None
        return _Content(data, stat_key)

    def _take(self, rel: str, content: _Content, packing: _Packing) -> None:
        """Write one file into the pack."""
        data = content.data
        offset = packing.writer.add(rel, data)
        tokens = content.tokens
        if tokens is None:
            counter = packing.counter
            digest = hashlib.sha256(data).hexdigest() if counter.exact else None
            tokens = counter.count(data, digest)
        self.files.append(PackedFile(rel, len(data), tokens))
        self.result.pack_bytes += len(data)
        if packing.sink is not None:
            packing.records.add(rel, content.stat_key, tokens, offset, len(data))

    def _finish(
        self,
        key: str,
        stored: StoredEntry | None,
        packing: _Packing,
        packed_ns: int,
        watch: set[str],
    ) -> None:
        result, request = self.result, self.request
        sink, counter, records = packing.sink, packing.counter, packing.records
        size = packing.writer.size
        result.total_tokens = sum(item.tokens for item in result.files) + estimate(
            size - result.pack_bytes
        )
        result.pack_bytes = size
        if sink is None or self.store is None or not result.files:
            return
        pack_hash = sink.identity()
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
            bytes=size,
            tokens=result.total_tokens,
            created=now,
            expires=now + request.ttl_minutes * 60,
            packed_ns=packed_ns,
            manifest=records.build(),
            skipped=[(item.path, item.reason) for item in result.skipped],
            excluded=dict(result.excluded),
            left_out=dict(result.left_out),
            rule=result.rule,
            warnings=list(result.warnings),
            watch=Watched.of({path: fingerprint(path) for path in watch}),
        )
        # The same pack as the stored one (files touched, not changed): a hit.
        same = stored is not None and not self.build.replay_failed and stored.id == entry.id
        if sink.finish(entry, counter.new, counter.model, hit=same):
            result.session_id = entry.id
            result.cache_used = same
        elif sink.error is not None:
            self.result.warnings.append(f"the context cache failed ({sink.error}); not stored")
        else:
            limit = _size(self.store.max_bytes)
            result.warnings.append(
                f"the pack ({_size(size)}) is larger than the cache limit of {limit}; not stored"
            )
