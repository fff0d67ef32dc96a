"""``ccw pack``: pack the files that patterns name, without calling a model."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from ccw.cli.common import print_json, project_root, store
from ccw.cli.options import (
    AllowSecretsOpt,
    FormatOpt,
    IncludeDirsOpt,
    NoCacheOpt,
    NoExcludeDirsOpt,
    OnOverflowOpt,
    TokensOpt,
    excluded_line,
    split_dirs,
)

if TYPE_CHECKING:
    from ccw.context.api import ContextResult
    from ccw.context.parse import Pattern


def _as_pattern(text: str) -> Pattern:
    """An argument as typed: an optional leading ``@``, ``!`` to exclude, then the pattern
    exactly (no punctuation is trimmed, unlike ``@patterns`` in a prompt)."""
    from ccw.context.parse import Pattern
    from ccw.errors import UsageError

    body = text[1:] if text.startswith("@") else text
    exclude = body.startswith("!")
    body = body[1:] if exclude else body
    if not body:
        raise UsageError(f"empty pattern {text!r}", "give a path or a glob such as src/**/*.py")
    return Pattern(body, exclude=exclude)


SKIPPED_SHOWN = 20
PROGRESS_AFTER_S = 0.5
PROGRESS_EVERY = 64


class ProgressBar:
    """A Rich bar on stderr for ``on_progress``: shown only on a terminal and only once
    packing takes a while (its import would otherwise slow every pack); gone when done."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.started = time.monotonic()
        self.bar: Any = None
        self.task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if done == 0:
            self.started = time.monotonic()  # the clock runs from the end of selection
        if not self.enabled or not done or done % PROGRESS_EVERY:
            return
        if self.bar is None:
            if time.monotonic() - self.started < PROGRESS_AFTER_S:
                return
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("packing", total=total)
        self.bar.update(self.task, completed=done)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Take the bar off the screen (it is transient) once packing is done."""
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def _summary(result: ContextResult) -> None:
    """Warnings, what was left out (the first few, then counts by reason) and the totals.

    Plain styled lines on stderr: Rich would add its import time to every pack.
    """
    from collections import Counter

    for message in result.warnings:
        typer.secho("warning: ", fg="yellow", err=True, nl=False)
        typer.echo(message, err=True)
    lines = [f"skipped {item.path}: {item.reason}" for item in result.skipped[:SKIPPED_SHOWN]]
    rest = result.skipped[SKIPPED_SHOWN:]
    if rest:
        counts = Counter(item.reason.split(";")[0] for item in rest)
        summary = ", ".join(f"{count:,} {reason}" for reason, count in counts.most_common())
        lines.append(f"... and {len(rest):,} more ({summary}); --json lists them all")
    lines.extend(
        f"{count:,} more not looked at: {reason}" for reason, count in result.left_out.items()
    )
    if result.rule:
        lines.append(result.rule)
    if result.excluded:
        lines.append(excluded_line(result.excluded))
    source = f"cache {result.session_id}" if result.cache_used else (result.session_id or "fresh")
    skipped = len(result.skipped) + sum(result.left_out.values())
    lines.append(
        f"{len(result.files)} files, {result.pack_bytes} bytes, ~{result.total_tokens} tokens, "
        f"{skipped:,} skipped ({source})"
    )
    typer.secho("\n".join(lines), dim=True, err=True)


def _patterns(typed: list[str], output: Path | None) -> list[Pattern]:
    """The patterns as typed; an output file inside the folder is never packed into itself."""
    patterns = [_as_pattern(text) for text in typed]
    if output is not None:
        import os

        relative = os.path.relpath(output.resolve(), Path.cwd().resolve())
        if not relative.startswith(".."):
            patterns.append(_as_pattern("!./" + relative.replace(os.sep, "/")))
    return patterns


class _Discard:
    """The sink of a dry run: the pack is made (to know what it holds) and dropped."""

    def write(self, data: bytes) -> int:
        return len(data)


class _Replacing:
    """The sink of ``-o FILE``: a file beside it, made at the first byte (after selection,
    so never packed into itself), that replaces it only once the pack is complete; an error
    (a pattern matching nothing, a limit with --on-overflow fail) changes no file.

    A symlink's target is replaced, not the link; something that is not a regular file (a
    device such as ``/dev/null``, a FIFO) is written to as it is, as a shell redirect would.
    """

    def __init__(self, output: Path) -> None:
        import os
        import stat

        self.target = output.resolve()
        try:
            mode = os.stat(self.target).st_mode
        except OSError:
            mode = stat.S_IFREG
        self.direct = not stat.S_ISREG(mode)
        self.handle: IO[bytes] | None = None

    def write(self, data: bytes) -> int:
        if self.handle is None:
            if self.direct:
                self.handle = self.target.open("wb")
            else:
                import tempfile

                self.handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed by __exit__)
                    "wb", dir=self.target.parent, prefix=f".{self.target.name}.", delete=False
                )
        return self.handle.write(data)

    def __enter__(self) -> _Replacing:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        import os

        if self.handle is None:
            if kind is None:
                self.target.write_bytes(b"")
            return
        self.handle.close()
        if self.direct:
            return
        if kind is None:
            os.replace(self.handle.name, self.target)
        else:
            Path(self.handle.name).unlink(missing_ok=True)


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
        max_files: Annotated[
            int | None, typer.Option("--max-files", min=1, help="File count limit (1000).")
        ] = None,
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
        from ccw.config.effective import find_endpoint
        from ccw.context.api import build_context, context_request, stream_context
        from ccw.context.options import (
            PackOptions,
            parse_format,
            parse_overflow,
            parse_token_mode,
        )

        config = store(ctx).load()
        chosen = None if endpoint is None else find_endpoint(config, endpoint)
        options = PackOptions(
            fmt=parse_format(fmt),
            on_overflow=parse_overflow(on_overflow),
            allow_secrets=allow_secrets,
            tokens=parse_token_mode(tokens),
            include_dirs=tuple(split_dirs(include_dirs, Path.cwd())),
            exclude_dirs=() if no_exclude_dirs else None,
            use_cache=not (no_cache or dry_run),
            max_total_bytes=None if max_size_kb is None else max_size_kb * 1024,
            max_files=max_files,
            allow_empty=allow_empty,
        )
        progress = ProgressBar()
        request = context_request(
            " ".join(patterns),
            Path.cwd(),
            config,
            project_root(ctx),
            chosen,
            options,
            patterns=_patterns(patterns, output),
            on_progress=progress,
        )
        with progress:  # the bar is gone before the summary is printed
            if dry_run:
                result = stream_context(request, _Discard())
            elif as_json:
                result = build_context(request)
            elif output is not None:
                with _Replacing(output) as handle:
                    result = stream_context(request, handle)
            else:
                result = stream_context(request, sys.stdout.buffer)
                sys.stdout.buffer.flush()
        if dry_run:
            if as_json:
                print_json({**result.to_json(), "pack": None})
                return
            sys.stdout.write("".join(f"{item.path}\n" for item in result.files))
            _summary(result)
            return
        if as_json:
            if output is not None:
                output.write_text(result.pack, encoding="utf-8")
            print_json({**result.to_json(), "pack": None if output else result.pack})
            return
        _summary(result)
