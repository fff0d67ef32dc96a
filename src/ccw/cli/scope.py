"""``--global`` / ``--project``: which config file an edit writes, shared by the commands."""

from __future__ import annotations

from typing import Annotated

import typer

from ccw.config.layers import DEFAULT_SCOPE_HELP, PROJECT, USER

GlobalOpt = Annotated[
    bool,
    typer.Option(
        "--global",
        help="Write your user config (used in every repository). " + DEFAULT_SCOPE_HELP,
    ),
]
ProjectOpt = Annotated[
    bool, typer.Option("--project", help="Write this project's .ccw/ config file.")
]
AllowLiteralOpt = Annotated[
    bool,
    typer.Option(
        "--allow-literal-key",
        help="Write a literal key even into a file inside a git work tree (refused otherwise).",
    ),
]


def chosen(global_: bool, project: bool) -> str | None:
    """The scope the flags name; ``None`` when neither is given (the default applies)."""
    from ccw.errors import UsageError

    if global_ and project:
        raise UsageError("--global and --project exclude each other", "pass one of them")
    return USER if global_ else PROJECT if project else None
