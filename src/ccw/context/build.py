"""The pack builder: a stored pack when its files are unchanged, else a new pack.

A stored pack is written out as it was stored after a stat-only check (``freshness``): the
hit costs the stat calls and one sequential read, and loads nothing of the packing path
(``packing``: selection, reading, checks, framing), which is imported only on a miss.
Nothing here writes to the terminal: problems go to ``result.warnings``.
"""

from __future__ import annotations

import hashlib
import json
import os

from ccw.context.freshness import unchanged
from ccw.context.manifest import PackedFiles
from ccw.context.options import parse_format, parse_overflow, parse_token_mode
from ccw.context.parse import Pattern, find_patterns, plain_prompt
from ccw.context.request import ByteSink, ContextRequest, ContextResult, SkippedFile
from ccw.context.store import CacheStore, CacheUnavailable, PackDamaged, StoredEntry
from ccw.errors import CcwError


def build(request: ContextRequest, out: ByteSink) -> ContextResult:
    """Pack into ``out``; the result describes the pack (``result.pack`` stays empty)."""
    return Build(request, out).run()


class _Counted:
    """The caller's sink, counting what reached it."""

    def __init__(self, out: ByteSink) -> None:
        self.out = out
        self.written = 0

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.written += len(data)


class Build:
    """One call: the request, the caller's sink, the result and the cache as opened."""

    def __init__(self, request: ContextRequest, out: ByteSink) -> None:
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
        if stored is not None and unchanged(stored):
            if self._replay(stored):
                return self.result
            self.replay_failed = True  # the stored pack is gone: store the new one afresh
        from ccw.context.packing import Packer

        return Packer(self).run(key, stored)

    def cache_failed(self, error: CacheUnavailable) -> None:
        self.result.warnings.append(f"{error.message}; going on without the cache")
        self.store = None

    def _lookup(self, key: str) -> StoredEntry | None:
        if self.store is None:
            return None
        try:
            return self.store.lookup(key)
        except CacheUnavailable as error:
            self.cache_failed(error)
            return None

    def _replay(self, stored: StoredEntry) -> bool:
        """Write the stored pack out as it was stored: the hit that costs the stat calls
        and one sequential read. A damaged stored pack is dropped; when none of it was
        written yet, the pack is made afresh."""
        assert self.store is not None
        out = _Counted(self.out)
        try:
            self.store.replay(stored, out)
        except CacheUnavailable as error:
            if out.written:
                raise CcwError(
                    f"the context cache failed while the stored pack was read: {error.message}",
                    "run the command again (the cache was checked and is packed afresh)",
                ) from None
            self.cache_failed(error)
            return False
        except PackDamaged:
            self._drop(stored)
            if out.written:
                raise CcwError(
                    "a stored pack of the context cache was damaged",
                    "run the command again (the entry was dropped and is packed afresh)",
                ) from None
            return False
        result = self.result
        try:
            self.store.record_hit(stored)
        except CacheUnavailable as error:
            result.warnings.append(f"{error.message}; the hit was not counted")
        result.files = PackedFiles(stored.manifest)
        result.skipped = [SkippedFile(path, reason) for path, reason in stored.skipped]
        result.excluded = dict(stored.excluded)
        result.left_out = dict(stored.left_out)
        result.rule = stored.rule
        result.warnings.extend(stored.warnings)
        result.cache_used = True
        result.session_id = stored.id
        result.total_tokens = stored.tokens
        result.pack_bytes = stored.bytes
        return True

    def _drop(self, stored: StoredEntry) -> None:
        assert self.store is not None
        try:
            self.store.drop(stored)
        except CacheUnavailable as error:
            self.cache_failed(error)


def _check_options(request: ContextRequest) -> None:
    """A request built by hand may hold any text: checked before anything is read."""
    parse_format(request.fmt)
    parse_overflow(request.on_overflow)
    parse_token_mode(request.tokens)


def _key(request: ContextRequest, patterns: list[Pattern], root: str) -> str:
    """What a pack depends on besides the files: patterns, root and options."""
    material = {
        "v": 4,
        "root": root,
        "includeDirs": [os.path.realpath(folder) for folder in request.include_dirs],
        "patterns": [[p.text, p.exclude] for p in patterns],
        "filePatterns": list(request.file_patterns),
        "excludeDirs": None if request.exclude_dirs is None else sorted(request.exclude_dirs),
        "limits": [request.max_total_bytes, request.max_file_bytes, request.max_files],
        "format": request.fmt,
        "allowSecrets": request.allow_secrets,
        "allowEmpty": request.allow_empty,
        "projectRoot": None if request.project_root is None else str(request.project_root),
        "tokens": [request.tokens, request.model if request.tokens == "exact" else None],
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
