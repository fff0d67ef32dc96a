"""Rows and key/value records on stdout, shaped for where stdout goes.

On a terminal: a borderless table as wide as the terminal at most. Ids, paths and numbers
are printed whole (users copy them into ``ccw cli detail`` and ``--resume``): only the
columns a caller names as ``wrap`` (break between words) or ``clip`` (cut with "…") give up
width. When the whole columns alone are too wide, each row becomes a block of
``header  value`` lines instead.

Piped (stdout is not a terminal): tab-separated lines without title or header, as ``gh``
does, so that ``cut -f1`` gives the ids. ``TTY_COMPATIBLE=1`` (or ``FORCE_COLOR``) makes
a pipe count as a terminal, ``TTY_COMPATIBLE=0`` a terminal as a pipe (Rich's own rules).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

GAP = 2  # spaces between two columns
_NUMBER = re.compile(r"[$~]?[0-9][0-9,._]*( ?(B|KB|MB|GB|%|ms|s|min|h))?")
MIN_CLIP = 12  # a clipped column keeps at least this many characters


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    wrap: Collection[str] = (),
    clip: Collection[str] = (),
) -> None:
    """Print ``rows`` under ``columns``; see the module docstring for the layouts."""
    console = _console()
    if not console.is_terminal:
        _tsv(rows)
        return
    widths = _fit(console, columns, rows, wrap, clip)
    if widths is None:
        _records(console, title, columns, rows)
    else:
        _grid(console, title, columns, rows, widths, clip)


def key_values(pairs: Sequence[tuple[str, str]], title: str | None = None) -> None:
    """``key  value`` lines, keys aligned (``key<TAB>value`` when piped), values whole."""
    console = _console()
    if not console.is_terminal:
        _tsv([list(pair) for pair in pairs])
        return
    _block(console, title, [key for key, _ in pairs], [value for _, value in pairs])


def flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """A nested record as ``(dotted.key, text)`` pairs: never a Python repr of a dict/list."""
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            pairs.extend(flatten(value, f"{name}."))
        else:
            pairs.append((name, text_of(value)))
    return pairs


def text_of(value: Any) -> str:
    """One value as a user reads it: yes/no, ``-`` for nothing, lists comma-separated."""
    if value is None or value == {} or value == []:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(text_of(item) for item in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={text_of(v)}" for k, v in value.items())
    return str(value)


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def _one_line(cell: str) -> str:
    return " ".join(cell.replace("\t", " ").splitlines())


def _tsv(rows: Sequence[Sequence[str]]) -> None:
    sys.stdout.write("".join("\t".join(map(_one_line, row)) + "\n" for row in rows))
    sys.stdout.flush()


def _longest_word(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(word) for word in text.split()), default=0)


def _fit(
    console: Console,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    wrap: Collection[str],
    clip: Collection[str],
) -> list[int] | None:
    """Each column's width at this terminal's width, or None when the whole ones do not fit.

    Whole columns get their widest cell. Wrapping columns need their longest word, clipped
    ones ``MIN_CLIP``; what is left is shared in proportion to what each still wants.
    """
    from rich.cells import cell_len

    natural = [
        max(cell_len(cell) for cell in [name, *(_one_line(row[i]) for row in rows)])
        for i, name in enumerate(columns)
    ]
    least = []
    for i, name in enumerate(columns):
        if name in wrap:
            least.append(max(_longest_word(name), *(_longest_word(row[i]) for row in rows)))
        elif name in clip:
            least.append(min(natural[i], max(MIN_CLIP, cell_len(name))))
        else:
            least.append(natural[i])
    room = console.width - GAP * (len(columns) - 1)
    if sum(least) > room:
        return None
    if sum(natural) <= room:
        return natural
    spare = room - sum(least)
    wants = [n - m for n, m in zip(natural, least, strict=True)]
    total = sum(wants)
    widths = [m + spare * want // total for m, want in zip(least, wants, strict=True)]
    return widths


def _grid(
    console: Console,
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[int],
    clip: Collection[str],
) -> None:
    from rich.markup import escape
    from rich.table import Table

    if title:  # printed apart: a table's own title would wrap mid-word to its width
        console.print(f"[bold]{escape(title)}[/bold]", soft_wrap=True)
    view = Table(
        box=None,
        header_style="bold",
        padding=(0, GAP, 0, 0),
        pad_edge=False,
        show_edge=False,
    )
    for index, (name, width) in enumerate(zip(columns, widths, strict=True)):
        view.add_column(
            escape(name),
            width=width,
            justify="right" if _numeric(row[index] for row in rows) else "left",
            no_wrap=name in clip,
            overflow="ellipsis" if name in clip else "fold",
        )
    for row in rows:
        view.add_row(*[escape(_one_line(cell)) for cell in row])
    console.print(view)


def _numeric(cells: Iterable[str]) -> bool:
    """A column of counts, sizes or costs: right-aligned, so that magnitudes line up."""
    present = [cell for cell in cells if cell not in ("", "-")]
    return bool(present) and all(_NUMBER.fullmatch(cell) for cell in present)


def _records(
    console: Console,
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
) -> None:
    from rich.markup import escape

    if title:
        console.print(f"[bold]{escape(title)}[/bold]")
    for index, row in enumerate(rows):
        if index:
            console.print()
        _block(console, None, columns, [_one_line(cell) for cell in row])


def _block(console: Console, title: str | None, keys: Sequence[str], values: Sequence[str]) -> None:
    """Aligned ``key  value`` lines; long values run on (the terminal wraps them, a copy
    gets them whole) rather than being broken by us."""
    from rich.markup import escape

    if title:
        console.print(f"[bold]{escape(title)}[/bold]")
    width = max((len(key) for key in keys), default=0)
    for key, value in zip(keys, values, strict=True):
        if not key and not value:  # an unlabelled marker column, unmarked in this row
            continue
        console.print(
            f"[bold]{escape(key.ljust(width))}[/bold]{' ' * GAP}{escape(value)}", soft_wrap=True
        )
