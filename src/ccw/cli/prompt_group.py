"""The ``ccw cli`` group: ``ccw cli "What is 2+2?"`` is a prompt, ``ccw cli history`` a command.

A click group takes its first word for a command name. This one looks at the first word
that is not an option or an option's value: when it names a command (``history``,
``detail``) the group works as usual; otherwise every such word is the prompt, and options
may come before or after it (``ccw cli "Explain @a.py" --json``). The words reach the
callback through ``prompt_words``.

``-o KEY VALUE`` takes two values per use, which Typer cannot declare: the group takes the
pairs out of the arguments itself (``model_option_pairs``); the callback declares ``-o`` only
so that ``--help`` lists it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer

from ccw.cli.help_style import CleanGroup
from ccw.errors import UsageError

WORDS = "ccw.prompt_words"
PAIRS = "ccw.model_option_pairs"
PAIR_OPTIONS = ("-o", "--option")

# Typer carries its own copy of click; its parameters and contexts are typed loosely here.
Param = Any


class PromptGroup(CleanGroup):
    """See the module's docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subcommand_metavar = "[PROMPT]... | COMMAND [ARGS]..."

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        split = split_words(args, self.params)
        if split.words and split.words[0][1] in self.commands:
            ctx.meta[WORDS], ctx.meta[PAIRS] = [], []
            return super().parse_args(ctx, args)
        ctx.meta[WORDS] = [word for _, word in split.words]
        ctx.meta[PAIRS] = split.pairs
        return super().parse_args(ctx, split.options)


def prompt_words(ctx: typer.Context) -> list[str]:
    """The words of a positional prompt (empty when none were given)."""
    return list(ctx.meta.get(WORDS, []))


def model_option_pairs(ctx: typer.Context) -> list[tuple[str, str]]:
    """The ``-o KEY VALUE`` pairs, in order."""
    return list(ctx.meta.get(PAIRS, []))


class Split:
    """``args`` taken apart: options (with their values), prompt words, ``-o`` pairs."""

    def __init__(self) -> None:
        self.options: list[str] = []
        self.words: list[tuple[int, str]] = []  # (position, word)
        self.pairs: list[tuple[str, str]] = []


def split_words(args: Sequence[str], params: Sequence[Param]) -> Split:
    """See ``Split``. Everything after ``--`` is a word; an unknown option is left for click
    to refuse."""
    takes: dict[str, int] = {}
    for param in params:
        if getattr(param, "param_type_name", "") == "option":
            count = 0 if param.is_flag or param.count else param.nargs
            for name in [*param.opts, *param.secondary_opts]:
                takes[name] = count
    split = Split()
    index = 0
    while index < len(args):
        token = args[index]
        if token == "--":
            split.words.extend((at, word) for at, word in enumerate(args[index + 1 :], index + 1))
            break
        if token in PAIR_OPTIONS:
            if len(args[index + 1 : index + 3]) < 2:
                raise UsageError(
                    f"{token} takes a key and a value", f"e.g. {token} temperature 0.2"
                )
            split.pairs.append((args[index + 1], args[index + 2]))
            index += 3
            continue
        if token.startswith("-") and len(token) > 1:
            name, attached = _option_name(token)
            values = 0 if attached else takes.get(name, 0)
            split.options.extend(args[index : index + 1 + values])
            index += 1 + values
            continue
        split.words.append((index, token))
        index += 1
    return split


def _option_name(token: str) -> tuple[str, bool]:
    """An option's name and whether its value is in the same token (``--x=1``, ``-pText``)."""
    if token.startswith("--"):
        name, sep, _ = token.partition("=")
        return name, bool(sep)
    return token[:2], len(token) > 2
