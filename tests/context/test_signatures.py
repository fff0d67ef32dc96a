"""Outlines by language: a real snippet in, its imports, types, signatures and docs out,
every body left out."""

from __future__ import annotations

import pytest

from ccw.context.signatures import language_of, outline

PYTHON = b'''"""Module doc."""
import os
from typing import Any

LIMIT = 3


@cached
def load(path: str,
         mode: str = "r") -> Any:
    """Read a file."""
    with open(path, mode) as handle:
        return handle.read()


class Store(Base):
    """Keeps things."""

    size = 0

    def put(self, key: str) -> None:
        def helper():
            return 1
        self.size += helper()


if __name__ == "__main__":
    load("x")
'''

TYPESCRIPT = b"""import { readFile } from "./fs";
/** Adds one. */
export function inc(a: number): number {
  return a + 1;
}
export const twice = (s: string): string => {
  return s + s;
};
interface Shape { area(): number }
type Id = string | number;
export class Circle implements Shape {
  r: number = 1;
  area(): number { return 3.14 * this.r * this.r; }
}
"""

JAVASCRIPT = b"""const fs = require("fs");
function read(p) { return fs.readFileSync(p, "utf8"); }
class Cache { get(k) { return this.map[k]; } }
module.exports = { read, Cache };
"""

GO = b"""package store

import "fmt"

// Item is one entry.
type Item struct {
    Key string
}

// Show prints it.
func (i *Item) Show() {
    fmt.Println(i.Key)
}
"""

RUST = b"""use std::collections::HashMap;

/// A store.
#[derive(Debug)]
pub struct Store { map: HashMap<String, i32> }

impl Store {
    /// Makes one.
    pub fn new() -> Self { Store { map: HashMap::new() } }
}

pub trait Named { fn name(&self) -> String; }
"""

JAVA = b"""package a.store;

import java.util.Map;

/** A store. */
public class Store {
    private Map<String, Integer> map;

    /** Reads one. */
    public int get(String key) {
        return map.get(key);
    }
}
"""

CASES = [
    (
        "store.py",
        PYTHON,
        [
            '"""Module doc."""',
            "import os",
            "from typing import Any",
            "LIMIT = 3",
            "@cached",
            "def load(path: str,",
            '    """Read a file."""',
            "class Store(Base):",
            '    """Keeps things."""',
            "    size = 0",
            "    def put(self, key: str) -> None:",
            "        ...",
        ],
        ["handle.read()", "helper", "__main__"],
    ),
    (
        "shapes.ts",
        TYPESCRIPT,
        [
            'import { readFile } from "./fs";',
            "/** Adds one. */",
            "export function inc(a: number): number { ... }",
            "export const twice = (s: string): string => { ... };",
            "interface Shape { area(): number }",
            "type Id = string | number;",
            "export class Circle implements Shape {",
            "  area(): number { ... }",
        ],
        ["return a + 1", "3.14", "s + s"],
    ),
    (
        "cache.js",
        JAVASCRIPT,
        [
            'const fs = require("fs");',
            "function read(p) { ... }",
            "class Cache {",
            "    get(k) { ... }",
        ],
        ["readFileSync", "this.map"],
    ),
    (
        "item.go",
        GO,
        [
            "package store",
            'import "fmt"',
            "// Item is one entry.",
            "type Item struct {",
            "// Show prints it.",
            "func (i *Item) Show() { ... }",
        ],
        ["Println"],
    ),
    (
        "store.rs",
        RUST,
        [
            "use std::collections::HashMap;",
            "/// A store.",
            "#[derive(Debug)]",
            "pub struct Store { map: HashMap<String, i32> }",
            "impl Store {",
            "    /// Makes one.",
            "    pub fn new() -> Self { ... }",
            "    fn name(&self) -> String;",
        ],
        ["HashMap::new()"],
    ),
    (
        "Store.java",
        JAVA,
        [
            "package a.store;",
            "import java.util.Map;",
            "/** A store. */",
            "public class Store {",
            "    private Map<String, Integer> map;",
            "    /** Reads one. */",
            "    public int get(String key) { ... }",
        ],
        ["map.get(key)"],
    ),
]


@pytest.mark.parametrize(("path", "source", "kept", "gone"), CASES, ids=[c[0] for c in CASES])
def test_outline_keeps_signatures_and_docs_and_drops_bodies(
    path: str, source: bytes, kept: list[str], gone: list[str]
) -> None:
    result = outline(path, source)
    assert result is not None
    text = result.decode()
    lines = text.splitlines()
    for line in kept:
        assert line in lines, f"{line!r} missing from:\n{text}"
    for fragment in gone:
        assert fragment not in text
    assert len(result) < len(source)
    # Lines come in source order.
    positions = [lines.index(line) for line in kept]
    assert positions == sorted(positions)


def test_other_text_has_no_grammar() -> None:
    assert outline("notes.txt", b"hello\n") is None
    assert outline("Makefile", b"all:\n") is None
    assert language_of("src/app.tsx") == "tsx"
    assert language_of("dir.py/README") is None


def test_a_broken_file_still_gives_an_outline() -> None:
    result = outline("bad.py", b"def ok(a):\n    return a\n\ndef broken(:\n    pass\n")
    assert result is not None
    assert b"def ok(a):" in result
    assert b"return a" not in result
