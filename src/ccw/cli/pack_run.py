"""What ``ccw pack`` does once its arguments are parsed, without the CLI framework.

Both ways in end here: the Typer command (``ccw.cli.pack_cmd``) and the fast entry
(``ccw.cli.entry``), which parses plain ``ccw pack`` arguments itself so that a pack starts
without importing Typer. Nothing here imports Typer, pydantic or Rich unless it is used.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ccw.context.api import ContextResult
    from ccw.context.parse import Pattern

SKIPPED_SHOWN = 20
PROGRESS_AFTER_S = 0.5
PROGRESS_EVERY = 64


@dataclass(frozen=True)
class PackArgs:
    """The arguments of ``ccw pack`` as typed (values still unchecked text)."""

    patterns: tuple[str, ...]
    fmt: str = "xml"
    output: Path | None = None
    no_cache: bool = False
    on_overflow: str = "skip"
    allow_secrets: bool = False
    include_dirs: tuple[str, ...] = ()
    no_exclude_dirs: bool = False
    tokens: str = "estimate"
    endpoint: str | None = None
    max_size_kb: int | None = None
    max_files: int | None = None
    as_json: bool = False
    allow_empty: bool = False
    dry_run: bool = False


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


def _styled(text: str, code: str) -> str:
    """ANSI style on a terminal only (a log or a pipe gets plain text)."""
    return f"\x1b[{code}m{text}\x1b[0m" if sys.stderr.isatty() else text


def _summary(result: ContextResult) -> None:
    """Warnings, what was left out (the first few, then counts by reason) and the totals.

    Plain styled lines on stderr: Rich would add its import time to every pack.
    """
    from collections import Counter

    out = [_styled("warning: ", "33") + message + "\n" for message in result.warnings]
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
        from ccw.cli.options import excluded_line

        lines.append(excluded_line(result.excluded))
    source = f"cache {result.session_id}" if result.cache_used else (result.session_id or "fresh")
    skipped = len(result.skipped) + sum(result.left_out.values())
    lines.append(
        f"{len(result.files)} files, {result.pack_bytes} bytes, ~{result.total_tokens} tokens, "
        f"{skipped:,} skipped ({source})"
    )
    out.append(_styled("\n".join(lines), "2") + "\n")
    sys.stderr.write("".join(out))
    sys.stderr.flush()


def _patterns(typed: tuple[str, ...], output: Path | None) -> list[Pattern]:
    """The patterns as typed; an output file inside the folder is never packed into itself."""
    patterns = [_as_pattern(text) for text in typed]
    if output is not None:
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


def _print_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def run_pack(args: PackArgs, explicit_config: str | None) -> None:
    """Pack as ``args`` say, with the config ``--config``/``CCW_CONFIG`` selects (or the
    user's and the project's): the pack on stdout or in ``-o FILE``, the summary on stderr."""
    from ccw.context.api import build_context, context_request, stream_context
    from ccw.context.options import PackOptions, parse_format, parse_overflow, parse_token_mode
    from ccw.context.settings import cache_settings, layer_files
    from ccw.paths import project_root_of

    options = PackOptions(
        fmt=parse_format(args.fmt),
        on_overflow=parse_overflow(args.on_overflow),
        allow_secrets=args.allow_secrets,
        tokens=parse_token_mode(args.tokens),
        include_dirs=tuple(_include_dirs(args.include_dirs)),
        exclude_dirs=() if args.no_exclude_dirs else None,
        use_cache=not (args.no_cache or args.dry_run),
        max_total_bytes=None if args.max_size_kb is None else args.max_size_kb * 1024,
        max_files=args.max_files,
        allow_empty=args.allow_empty,
    )
    project_root = project_root_of(layer_files(explicit_config)[-1])
    if args.endpoint is None:
        config: Any = cache_settings(explicit_config)
        chosen = None
    else:  # an endpoint's cacheStrategy: the whole config, validated
        from ccw.config.effective import find_endpoint
        from ccw.config.layers import LayeredConfig

        config = LayeredConfig.open(explicit_config).load()
        chosen = find_endpoint(config, args.endpoint)
    progress = ProgressBar()
    request = context_request(
        " ".join(args.patterns),
        Path.cwd(),
        config,
        project_root,
        chosen,
        options,
        patterns=_patterns(args.patterns, args.output),
        on_progress=progress,
    )
    output = args.output
    with progress:  # the bar is gone before the summary is printed
        if args.dry_run:
            result = stream_context(request, _Discard())
        elif args.as_json:
            result = build_context(request)
        elif output is not None:
            with _Replacing(output) as handle:
                result = stream_context(request, handle)
        else:
            result = stream_context(request, sys.stdout.buffer)
            sys.stdout.buffer.flush()
    if args.dry_run:
        if args.as_json:
            _print_json({**result.to_json(), "pack": None})
            return
        sys.stdout.write("".join(f"{item.path}\n" for item in result.files))
        _summary(result)
        return
    if args.as_json:
        if output is not None:
            output.write_text(result.pack, encoding="utf-8")
        _print_json({**result.to_json(), "pack": None if output else result.pack})
        return
    _summary(result)


def _include_dirs(values: tuple[str, ...]) -> list[Path]:
    if not values:
        return []
    from ccw.cli.options import split_dirs

    return split_dirs(list(values), Path.cwd())
