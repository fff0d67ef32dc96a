"""Options shared by several commands, defined once so that their names and help agree."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
FormatOpt = Annotated[
    str, typer.Option("--format", metavar="FORMAT", help="Pack format: xml, markdown or plain.")
]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Pack fresh and store nothing.")]
MaxFilesOpt = Annotated[
    int | None, typer.Option("--max-files", min=1, help="File count limit (1000).")
]
OnOverflowOpt = Annotated[
    str,
    typer.Option(
        "--on-overflow", metavar="skip|fail", help="skip (default) or fail when a limit is hit."
    ),
]
AllowSecretsOpt = Annotated[
    bool, typer.Option("--allow-secrets", help="Include files the secret firewall stops.")
]
IncludeDirsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--include-dirs", metavar="DIRS", help="Extra folders files may come from (repeat or a,b)."
    ),
]
NoExcludeDirsOpt = Annotated[
    bool,
    typer.Option(
        "--no-exclude-dirs",
        help="Let globs reach build/, dist/, node_modules/, venvs and the other folders "
        "left out by default (globalCacheSettings.excludeDirs).",
    ),
]
TokensOpt = Annotated[
    str,
    typer.Option(
        "--tokens", metavar="MODE", help="estimate (default) or exact (LiteLLM tokenizers)."
    ),
]


def excluded_line(excluded: dict[str, int]) -> str:
    """One line saying what the folder policy left out of the globs, and how to undo it."""
    total = sum(excluded.values())
    parts = ", ".join(f"{count} in {reason}" for reason, count in excluded.items())
    return (
        f"left out by folder policy: {total} file{'s' if total != 1 else ''} ({parts}); "
        "globalCacheSettings.excludeDirs (or ccw pack --no-exclude-dirs) changes it"
    )


def split_dirs(values: list[str] | None, base: Path) -> list[Path]:
    """``--include-dirs a,b --include-dirs c`` as absolute paths, relative ones taken from base."""
    found = [Path(part).expanduser() for value in values or [] for part in value.split(",") if part]
    return [(path if path.is_absolute() else base / path).resolve() for path in found]
