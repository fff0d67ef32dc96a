"""``ccw cache``: the persistent context cache shared by the CLI and the dashboard."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from ccw.cli.common import (
    info,
    key_values,
    print_json,
    project_root,
    store,
    success,
    table,
    warn,
)
from ccw.cli.options import JsonOpt

if TYPE_CHECKING:
    from ccw.context.store import CacheStore

app = typer.Typer(help="Inspect and clear the context cache.", no_args_is_help=True)


@contextmanager
def _cache(ctx: typer.Context) -> Iterator[CacheStore]:
    """The cache store; what it had to repair on the way is warned about on stderr."""
    from ccw.context.api import open_cache

    cache = open_cache(store(ctx).load(), project_root(ctx))
    try:
        yield cache
    finally:
        for message in cache.warnings:
            warn(message)


def _size(count: int) -> str:
    """Bytes as a person reads them: 65 B, 1.5 KB, 12.0 MB."""
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KB"
    return f"{count / (1024 * 1024):.1f} MB"


def _when(stamp: str) -> str:
    """A stored UTC time as local month-day hour:minute, the width ``ccw cli history`` uses."""
    from datetime import datetime

    return datetime.fromisoformat(stamp).astimezone().strftime("%m-%d %H:%M")


def _files(count: int) -> str:
    return f"{count} file{'' if count == 1 else 's'}"


@app.command("stats")
def stats(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Entries, bytes against the limit, hits and misses."""
    with _cache(ctx) as cache:
        data = cache.stats()
    if as_json:
        print_json(data)
        return
    ratio = data["hits"] / max(1, data["hits"] + data["misses"])
    key_values(
        [
            ("enabled", "yes" if data["enabled"] else "no"),
            ("entries", str(data["entries"])),
            ("expired", str(data["expired"])),
            ("size", _size(data["totalBytes"])),
            ("limit", _size(data["maxBytes"])),
            ("hits", str(data["hits"])),
            ("misses", str(data["misses"])),
            ("hit rate", f"{ratio:.0%}"),
            ("dir", data["cacheDir"]),
        ]
    )


@app.command("list")
def list_entries(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Stored packs, most recently used first."""
    with _cache(ctx) as cache:
        rows = cache.entries()
    if as_json:
        print_json(rows)
        return
    table(
        "Context cache entries",
        ["id", "patterns", "files", "bytes", "accessed", "expires"],
        [
            [
                row["id"],
                " ".join(row["patterns"]),
                str(row["files"]),
                str(row["bytes"]),
                _when(row["accessedAt"]),
                "expired" if row["expired"] else _when(row["expiresAt"]),
            ]
            for row in rows
        ],
        wrap=("patterns",),
    )


@app.command("show")
def show(
    ctx: typer.Context,
    entry_id: Annotated[
        str, typer.Argument(metavar="ID", help="A ctx-… id from `ccw cache list`.")
    ],
    as_json: JsonOpt = False,
) -> None:
    """One entry with its file list."""
    from ccw.errors import NotFoundError

    with _cache(ctx) as cache:
        entry = cache.entry(entry_id)
    if entry is None:
        raise NotFoundError(f"no cache entry {entry_id!r}", "see `ccw cache list`")
    if as_json:
        print_json(entry)
        return
    table(
        None,
        ["path", "bytes", "tokens"],
        [[item["path"], str(item["size"]), str(item["tokens"])] for item in entry["fileList"]],
    )
    state = "expired" if entry["expired"] else f"expires {entry['expiresAt']}"
    info(
        f"{entry['id']} ({' '.join(entry['patterns'])}): {_files(entry['files'])}, "
        f"{_size(entry['bytes'])}, created {entry['createdAt']}, {state}"
    )


@app.command("clear")
def clear(
    ctx: typer.Context,
    expired: Annotated[
        bool, typer.Option("--expired", help="Remove only entries past their TTL.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Remove cache entries (all, or only expired ones), and the Gemini cached contents
    that held their packs."""
    from ccw.exec.gemini_cache import sweep

    with _cache(ctx) as cache:
        removed = cache.clear(expired_only=expired)
    swept = sweep(store(ctx).load(), project_root(ctx))
    for message in swept.warnings:
        warn(message)
    if as_json:
        data: dict[str, object] = {"removed": removed}
        if swept.deleted:  # only then: ``{"removed": n}`` stays what it was
            data["remoteDeleted"] = swept.deleted
        print_json(data)
        return
    noun = "entry" if removed == 1 else "entries"
    success(f"removed {removed} {'expired ' if expired else ''}cache {noun}")
    if swept.deleted:
        count = len(swept.deleted)
        success(f"deleted {count} Gemini cached content{'' if count == 1 else 's'} on the provider")
