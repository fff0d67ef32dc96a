"""``ccw embed``: embedding vectors for texts, through an endpoint or an embedding pool."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ccw.cli.common import info, print_json, store, warn
from ccw.cli.options import JsonOpt
from ccw.exec import events


def register(app: typer.Typer) -> None:
    app.command("embed")(embed)


def _on_event(event: events.Event) -> None:
    """Retries and key changes as status lines on stderr; stdout holds only vectors."""
    if isinstance(event, events.Warning):
        warn(event.text)
    elif isinstance(event, events.Status):
        info(event.text)


def _read_inputs(texts: list[str], input_file: Path | None) -> list[str]:
    """The texts as given, then one per non-empty line of ``-i FILE`` (``-`` is stdin)."""
    from ccw.errors import UsageError

    found = list(texts)
    if input_file is not None:
        try:
            raw = (
                sys.stdin.read()
                if str(input_file) == "-"
                else input_file.read_text(encoding="utf-8")
            )
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise UsageError(
                f"cannot read {input_file}: {reason}", "pass a UTF-8 text file"
            ) from None
        found += [line for line in raw.splitlines() if line.strip()]
    return found


def embed(
    ctx: typer.Context,
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to embed.")] = None,
    input_file: Annotated[
        Path | None,
        typer.Option("--input", "-i", help="A file with one text per line (- for stdin)."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="An endpoint or embedding pool id."),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Most texts per request.")
    ] = 256,
    timeout: Annotated[
        float | None, typer.Option("--timeout", min=0.1, help="Seconds for the whole run.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Embed texts: one JSON array of numbers per text on stdout (--json: with the model,
    the deployments that answered and the usage)."""
    from ccw.exec.embed import embed as run_embed
    from ccw.warm import client as warm

    inputs = _read_inputs(texts or [], input_file)
    root = ctx.find_root().obj
    explicit = root.get("config") if isinstance(root, dict) else None
    via = "server"
    result = warm.embed(
        inputs,
        model_id=model,
        batch_size=batch_size,
        timeout=timeout,
        config=Path(explicit) if explicit else None,
        cwd=Path.cwd(),
        on_event=_on_event,
    )
    if result is None:
        via = "in-process"
        config_store = store(ctx)
        result = run_embed(
            config_store.load(),
            config_store.path,
            inputs,
            model_id=model,
            batch_size=batch_size,
            timeout=timeout,
            on_event=_on_event,
        )
    if as_json:
        print_json({**result.to_dict(), "via": via})
        return
    for vector in result.vectors:
        sys.stdout.write(json.dumps(vector) + "\n")
    via = ", ".join(sorted(set(result.deployments))) or result.model
    info(f"{len(result.vectors)} embeddings of {len(result.vectors[0])} numbers via {via}")
