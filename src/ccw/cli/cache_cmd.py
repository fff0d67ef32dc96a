"""``ccw cache``: the persistent context cache shared by the CLI and the dashboard."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from ccw.cli.common import print_json, project_root, store, success, table, warn
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


def _mb(count: int) -> str:
    return f"{count / (1024 * 1024):.1f} MB"


@app.command("stats")
def stats(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Entries, bytes against the limit, hits and misses."""
    with _cache(ctx) as cache:
        data = cache.stats()
    if as_json:
        print_json(data)
        return
    ratio = data["hits"] / max(1, data["hits"] + data["misses"])
    table(
        "Context cache",
        ["enabled", "entries", "expired", "size", "limit", "hits", "misses", "hit rate", "dir"],
        [
            [
                "yes" if data["enabled"] else "no",
                str(data["entries"]),
                str(data["expired"]),
                _mb(data["totalBytes"]),
                _mb(data["maxBytes"]),
                str(data["hits"]),
                str(data["misses"]),
                f"{ratio:.0%}",
                data["cacheDir"],
            ]
        ],
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
        ["id", "patterns", "files", "bytes", "accessed", "expires", "expired"],
        [
            [
                row["id"],
                " ".join(row["patterns"]),
                str(row["files"]),
                str(row["bytes"]),
                row["accessedAt"],
                row["expiresAt"],
                "yes" if row["expired"] else "no",
            ]
            for row in rows
        ],
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
        f"{entry['id']}: {' '.join(entry['patterns'])}",
        ["path", "bytes", "tokens"],
        [[item["path"], str(item["size"]), str(item["tokens"])] for item in entry["fileList"]],
    )
    state = "expired" if entry["expired"] else f"expires {entry['expiresAt']}"
    success(
        f"{entry['files']} files, {entry['bytes']} bytes, created {entry['createdAt']}, {state}"
    )


@app.command("clear")
def clear(
    ctx: typer.Context,
    expired: Annotated[
        bool, typer.Option("--expired", help="Remove only entries past their TTL.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Remove cache entries (all, or only expired ones)."""
    with _cache(ctx) as cache:
        removed = cache.clear(expired_only=expired)
    if as_json:
        print_json({"removed": removed})
        return
    success(f"removed {removed} {'expired ' if expired else ''}cache entries")
