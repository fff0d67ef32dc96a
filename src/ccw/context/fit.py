"""``--fit``: a pack shrunk to a token budget (the model's window less the prompt and the
answer's room).

Files the prompt names explicitly (a path, not a glob) stay whole. The others are ranked by
how much the named files depend on them (``ccw.context.depends``); as many as fit keep their
outline (``ccw.context.signatures``; the first lines for other text), then the best ranked
are made whole again while room remains, and the rest are left out. A shortened file says
so in its first (or, for a plain head, its last) line. The pack keeps its file order.

A fitted pack is stored in the context cache like any other, keyed by the original pack's
identity (the hash of its bytes), the budget and the named files: the same pack fitted to the
same window is rebuilt from the stored files without reading or outlining anything.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
from dataclasses import dataclass, field, fields

from ccw.context.depends import rank
from ccw.context.manifest import Manifest, PackedFiles, StoredFile
from ccw.context.pack import PackWriter
from ccw.context.parse import find_patterns
from ccw.context.request import ContextRequest, ContextResult, PackedFile, SkippedFile
from ccw.context.signatures import comment_prefix, outline
from ccw.context.store import CacheStore, CacheUnavailable, PackDamaged, StoredEntry
from ccw.context.tokens import TokenCounter, estimate
from ccw.errors import CcwError, UsageError

FIT_VERSION = 1
HEAD_LINES = 40  # a plain head keeps at most this many lines ...
HEAD_BYTES = 2048  # ... and this many bytes
MIN_ROOM = 64  # tokens: with less room left, no further file is tried
# Files in a row whose outline did not fit, after which the rest (ranked lower) are not
# outlined at all: left out, as they would almost all be.
MISSES_IN_A_ROW = 32
FRAMING_BYTES = 48  # about what a pack format adds around each file, besides its path
SHORTENED = "shortened to fit the context window: "
LEFT_OUT = "left out to fit the context window"
_GLOB = frozenset("*?[{")


class PackTooLarge(UsageError):
    """The pack (or the part of it that must stay whole) is larger than the model takes."""

    kind = "context_too_large"


@dataclass
class FittedContext(ContextResult):
    """A pack fitted to ``budget`` tokens: which files were shortened (and how) and which
    were left out (also in ``skipped``, with ``LEFT_OUT`` as the reason)."""

    budget: int = 0
    original_tokens: int = 0
    shortened: list[SkippedFile] = field(default_factory=list)
    left_out_to_fit: list[str] = field(default_factory=list)
    named: list[str] = field(default_factory=list)


def named_files(request: ContextRequest, paths: list[str]) -> list[str]:
    """The pack's files the prompt names by path (not by a glob)."""
    known = set(paths)
    found: list[str] = []
    root = os.path.realpath(request.root)
    for pattern in request.patterns or find_patterns(request.prompt):
        if pattern.exclude or _GLOB & set(pattern.text):
            continue
        full = os.path.join(request.root, pattern.text)
        rel = os.path.relpath(os.path.realpath(full), root).replace(os.sep, "/")
        for candidate in (rel, posixpath.normpath(pattern.text)):
            if candidate in known and candidate not in found:
                found.append(candidate)
                break
    return found


def shorten(path: str, data: bytes) -> tuple[bytes, str]:
    """A shorter text for a file, with a marker line, and how it was shortened."""
    total = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    short = outline(path, data)
    if short is not None:
        lines = short.count(b"\n")
        how = f"signatures only ({lines} of {total} lines)"
        marker = f"{comment_prefix(path)} [ccw --fit] {how}; bodies left out\n"
        return marker.encode() + short, how
    head = data[:HEAD_BYTES]
    cut = head.split(b"\n")
    if 1 < len(cut) <= HEAD_LINES and len(head) == HEAD_BYTES:
        cut.pop()  # a line the byte limit cut in half
    cut = cut[:HEAD_LINES]
    kept = b"\n".join(cut).decode("utf-8", "ignore").encode()
    lines = kept.count(b"\n") + 1
    how = f"first {lines} of {total} lines"
    return kept.rstrip(b"\n") + f"\n[ccw --fit] {how}; the rest left out\n".encode(), how


def fit_context(ctx: ContextResult, request: ContextRequest, budget: int) -> FittedContext:
    """``ctx`` fitted to ``budget`` tokens (the pack's share of the window)."""
    paths = [item.path for item in ctx.files]
    named = named_files(request, paths)
    store = _store(request)
    key = _key(ctx, request, budget, named)
    if store is not None:
        hit = _stored(store, key, ctx, request, budget, named)
        if hit is not None:
            return hit
    fitter = _Fitter(ctx, request, budget, named)
    fitted = fitter.run()
    if store is not None and (fitted.shortened or fitted.left_out_to_fit):
        _store_fitted(store, key, fitted, request)
    return fitted


def _store(request: ContextRequest) -> CacheStore | None:
    if not request.use_cache or request.cache_dir is None:
        return None
    return CacheStore(request.cache_dir, request.max_cache_bytes, clock=request.clock)


def _key(ctx: ContextResult, request: ContextRequest, budget: int, named: list[str]) -> str:
    material = {
        "fit": FIT_VERSION,
        "pack": hashlib.sha256(ctx.pack.encode()).hexdigest(),
        "budget": budget,
        "named": sorted(named),
        "format": request.fmt,
        "tokens": [request.tokens, request.model if request.tokens == "exact" else None],
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


class _Fitter:
    def __init__(
        self, ctx: ContextResult, request: ContextRequest, budget: int, named: list[str]
    ) -> None:
        self.ctx = ctx
        self.request = request
        self.budget = budget
        self.named = named
        self.counter = TokenCounter(request.tokens, request.model)
        self.contents = self._contents()

    def _contents(self) -> dict[str, bytes]:
        """Each packed file's bytes, read again and checked: they must give the same pack."""
        contents: dict[str, bytes] = {}
        out = io.BytesIO()
        writer = PackWriter(self.request.fmt, out)
        try:
            for item in self.ctx.files:
                with open(os.path.join(self.request.root, item.path), "rb") as handle:
                    contents[item.path] = handle.read()
                writer.add(item.path, contents[item.path])
        except OSError as error:
            raise _changed(f"{error.filename}: {error.strerror}") from None
        writer.close()
        if out.getvalue() != self.ctx.pack.encode():
            raise _changed("a file differs from the one packed")
        return contents

    def cost(self, path: str, data: bytes) -> int:
        return self.counter.count(data, None) + estimate(len(path) + FRAMING_BYTES)

    def run(self) -> FittedContext:
        contents = self.contents
        whole = {path: self.cost(path, data) for path, data in contents.items()}
        named_cost = sum(whole[path] for path in self.named)
        if named_cost > self.budget:
            raise PackTooLarge(
                f"the files named explicitly ({', '.join(self.named)}) are about "
                f"{named_cost:,} tokens, more than the {self.budget:,} the window leaves "
                "for the pack",
                "name fewer files, or pick a model with a larger context (--model)",
            )
        chosen: dict[str, tuple[bytes, str | None]] = {p: (contents[p], None) for p in self.named}
        if sum(whole.values()) > self.budget:
            others = [path for path in contents if path not in chosen]
            chosen.update(self._choose(rank(others, self.named, contents.__getitem__), whole))
        else:
            chosen = {path: (data, None) for path, data in contents.items()}
        return self._result(chosen)

    def _choose(
        self, ranked: list[str], whole: dict[str, int]
    ) -> dict[str, tuple[bytes, str | None]]:
        """Outlines for as many files as fit, in rank order; then the best ranked made whole
        again while room remains."""
        room = self.budget - sum(whole[path] for path in self.named)
        chosen: dict[str, tuple[bytes, str | None]] = {}
        short_cost: dict[str, int] = {}
        misses = 0
        for path in ranked:
            if room < MIN_ROOM or misses >= MISSES_IN_A_ROW:
                break
            data = self.contents[path]
            short, how = shorten(path, data)
            cost = self.cost(path, short)
            entry: tuple[bytes, str | None] = (short, how)
            if cost >= whole[path]:
                entry, cost = (data, None), whole[path]
            if cost <= room:
                chosen[path], short_cost[path] = entry, cost
                room -= cost
                misses = 0
            else:
                misses += 1
        for path in ranked:
            if path in chosen and chosen[path][1] is not None:
                extra = whole[path] - short_cost[path]
                if extra <= room:
                    chosen[path] = (self.contents[path], None)
                    room -= extra
        return chosen

    def _result(self, chosen: dict[str, tuple[bytes, str | None]]) -> FittedContext:
        ctx = self.ctx
        out = io.BytesIO()
        writer = PackWriter(self.request.fmt, out)
        fitted = _fitted_from(ctx, self.budget, self.named)
        files: list[PackedFile] = []
        fitted.files = files
        content = 0
        for item in ctx.files:
            if item.path not in chosen:
                fitted.left_out_to_fit.append(item.path)
                fitted.skipped.append(SkippedFile(item.path, LEFT_OUT))
                continue
            data, how = chosen[item.path]
            writer.add(item.path, data)
            content += len(data)
            tokens = self.counter.count(data, None)
            files.append(PackedFile(item.path, len(data), tokens))
            if how is not None:
                fitted.shortened.append(SkippedFile(item.path, how))
        writer.close()
        fitted.pack = out.getvalue().decode("utf-8")
        fitted.pack_bytes = len(out.getvalue())
        fitted.total_tokens = sum(f.tokens for f in fitted.files) + estimate(
            fitted.pack_bytes - content
        )
        return fitted


def _changed(what: str) -> CcwError:
    return CcwError(
        f"the packed files changed while the pack was fitted ({what})", "run the command again"
    )


def _fitted_from(ctx: ContextResult, budget: int, named: list[str]) -> FittedContext:
    """A fitted result that starts as ``ctx`` without its files and pack."""
    copied = {f.name: getattr(ctx, f.name) for f in fields(ContextResult)}
    copied.update(
        pack="",
        files=[],
        skipped=list(ctx.skipped),
        warnings=list(ctx.warnings),
        cache_used=False,
        session_id=None,
    )
    return FittedContext(
        **copied, budget=budget, original_tokens=ctx.total_tokens, named=list(named)
    )


def _store_fitted(
    store: CacheStore,
    key: str,
    fitted: FittedContext,
    request: ContextRequest,
) -> None:
    """Keep the fitted pack's files (shortened ones as shortened) under ``key``."""
    now = request.clock()
    records = [StoredFile(item.path, item.size, 0, 0, item.tokens) for item in fitted.files]
    skipped = [(s.path, s.reason) for s in fitted.skipped if s.reason != LEFT_OUT]
    skipped += [(s.path, SHORTENED + s.reason) for s in fitted.shortened]
    skipped += [(path, LEFT_OUT) for path in fitted.left_out_to_fit]
    text = fitted.pack.encode("utf-8")
    entry = StoredEntry(
        id="",
        key=key,
        root=os.path.realpath(request.root),
        patterns=[
            *(("!" if p.exclude else "") + p.text for p in find_patterns(request.prompt)),
            f"--fit {fitted.budget}",
        ],
        pack_hash="",
        bytes=len(text),
        tokens=fitted.total_tokens,
        created=now,
        expires=now + request.ttl_minutes * 60,
        packed_ns=0,
        manifest=Manifest.of(records),
        skipped=skipped,
        warnings=[],
        excluded=dict(fitted.excluded),
        left_out=dict(fitted.left_out),
        rule=fitted.rule,
    )
    try:
        with store.writer() as writer:
            writer.write(text)
            entry.pack_hash = writer.identity()
            entry.id = "fit-" + hashlib.sha256(f"{key}:{entry.pack_hash}".encode()).hexdigest()[:16]
            stored = writer.finish(entry, {}, request.model or "")
    except CacheUnavailable as error:
        fitted.warnings.append(f"{error.message}; the fitted pack was not stored")
        return
    if stored:
        fitted.session_id = entry.id


def _stored(
    store: CacheStore,
    key: str,
    ctx: ContextResult,
    request: ContextRequest,
    budget: int,
    named: list[str],
) -> FittedContext | None:
    """The fitted pack stored under ``key`` (None: none, or damaged and dropped)."""
    try:
        entry = store.lookup(key)
        if entry is None or entry.expires <= request.clock():
            return None
        out = io.BytesIO()
        try:
            store.replay(entry, out)
        except PackDamaged:
            store.drop(entry)
            return None
        store.record_hit(entry)
    except CacheUnavailable:
        return None
    fitted = _fitted_from(ctx, budget, named)
    fitted.pack = out.getvalue().decode("utf-8")
    fitted.files = PackedFiles(entry.manifest)
    for path, reason in entry.skipped:
        if reason.startswith(SHORTENED):
            fitted.shortened.append(SkippedFile(path, reason[len(SHORTENED) :]))
        elif reason == LEFT_OUT:
            fitted.left_out_to_fit.append(path)
            fitted.skipped.append(SkippedFile(path, LEFT_OUT))
    fitted.cache_used = True
    fitted.session_id = entry.id
    fitted.pack_bytes = entry.bytes
    fitted.total_tokens = entry.tokens
    return fitted
