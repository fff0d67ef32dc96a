"""``ccw serve token``: the token API clients send to the gateway (``/v1``)."""

from __future__ import annotations

from typing import Annotated

import typer


def token(
    show_path: Annotated[
        bool, typer.Option("--path", help="Print where the token is kept instead.")
    ] = False,
) -> None:
    """Print the gateway's token (made on first use, kept 0600 in the user data folder).

    API clients send it as Authorization: Bearer TOKEN (Anthropic clients: x-api-key) to
    http://127.0.0.1:PORT/v1, e.g. OPENAI_API_KEY=$(ccw serve token).
    """
    from ccw.server.gateway.token import gateway_token, token_path

    if show_path:
        typer.echo(str(token_path()))
        return
    typer.echo(gateway_token())
