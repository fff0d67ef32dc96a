"""``ccw pack``: pack the files that patterns name, without calling a model.

The Typer command; the work is ``ccw.cli.pack_run.run_pack``, which the fast entry
(``ccw.cli.entry``) calls too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ccw.cli import pack_run
from ccw.cli.options import (
    AllowSecretsOpt,
    FormatOpt,
    IncludeDirsOpt,
    MaxFilesOpt,
    NoCacheOpt,
    NoExcludeDirsOpt,
    OnOverflowOpt,
    TokensOpt,
)
from ccw.cli.pack_run import ProgressBar as ProgressBar  # ``ccw cli`` draws the same bar


def register(app: typer.Typer) -> None:
    """Add the top-level ``pack`` command."""

    @app.command("pack")
    def pack(
        ctx: typer.Context,
        patterns: Annotated[
            list[str],
            typer.Argument(
                help="Patterns such as src/**/*.py, @README.md or !tests/** to exclude, "
                "read exactly as typed."
            ),
        ],
        fmt: FormatOpt = "xml",
        output: Annotated[
            Path | None, typer.Option("-o", "--output", help="Write the pack to FILE.")
        ] = None,
        no_cache: NoCacheOpt = False,
        on_overflow: OnOverflowOpt = "skip",
        allow_secrets: AllowSecretsOpt = False,
        include_dirs: IncludeDirsOpt = None,
        no_exclude_dirs: NoExcludeDirsOpt = False,
        tokens: TokensOpt = "estimate",
        endpoint: Annotated[
            str | None,
            typer.Option("--endpoint", help="Use this endpoint's cacheStrategy (TTL, limits)."),
        ] = None,
        max_size_kb: Annotated[
            int | None, typer.Option("--max-size-kb", min=1, help="Total size limit in KB.")
        ] = None,
        max_files: MaxFilesOpt = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print the pack and its summary as JSON.")
        ] = False,
        allow_empty: Annotated[
            bool,
            typer.Option(
                "--allow-empty", help="A pattern that matches no file is a warning, not an error."
            ),
        ] = False,
        dry_run: Annotated[
            bool,
            typer.Option(
                "--dry-run",
                help="List the files the pack would hold (and the rule a limit used); "
                "write no pack and store nothing.",
            ),
        ] = False,
    ) -> None:
        """Pack files into one deterministic text (to stdout or -o FILE); summary on stderr."""
        root = ctx.find_root()
        explicit = (root.obj or {}).get("config") if isinstance(root.obj, dict) else None
        args = pack_run.PackArgs(
            patterns=tuple(patterns),
            fmt=fmt,
            output=output,
            no_cache=no_cache,
            on_overflow=on_overflow,
            allow_secrets=allow_secrets,
            include_dirs=tuple(include_dirs or ()),
            no_exclude_dirs=no_exclude_dirs,
            tokens=tokens,
            endpoint=endpoint,
            max_size_kb=max_size_kb,
            max_files=max_files,
            as_json=as_json,
            allow_empty=allow_empty,
            dry_run=dry_run,
        )
        pack_run.run_pack(args, explicit)
