"""Finding @patterns in a prompt, and the prompt that is sent after the pack."""

from __future__ import annotations

import pytest

from ccw.context.api import has_patterns
from ccw.context.parse import Pattern, find_patterns, plain_prompt


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("@src/**/*.ts Review", [Pattern("src/**/*.ts")]),
        ("see @README.md.", [Pattern("README.md")]),
        ("read @a.py, @b.py; and @c.py!", [Pattern("a.py"), Pattern("b.py"), Pattern("c.py")]),
        ('@"docs/my notes/*.md" please', [Pattern("docs/my notes/*.md")]),
        ("@!tests/** @src", [Pattern("tests/**", exclude=True), Pattern("src")]),
        ("(see @src/a.py)", [Pattern("src/a.py")]),
        (
            "@app/[id]/page.tsx and @lib/f(1).txt",
            [Pattern("app/[id]/page.tsx"), Pattern("lib/f(1).txt")],
        ),
        ("@../shared/**/*", [Pattern("../shared/**/*")]),
        ("@{src,lib}/*.py", [Pattern("{src,lib}/*.py")]),
        ("mail bob@example.com or @ alone", []),
    ],
)
def test_patterns_found(prompt: str, expected: list[Pattern]) -> None:
    assert find_patterns(prompt) == expected


def test_prompt_keeps_its_words_with_patterns_as_plain_paths() -> None:
    prompt = 'Review @src/auth/**/*.ts and @"my docs/a b.md", not @!tests/**. Mail bob@example.com.'
    assert plain_prompt(prompt) == (
        'Review src/auth/**/*.ts and "my docs/a b.md", not !tests/**. Mail bob@example.com.'
    )


def test_has_patterns() -> None:
    assert has_patterns("look at @README.md")
    assert not has_patterns("write to bob@example.com")
    assert not has_patterns("@!only-an-exclusion")
