"""Outlines of source files: imports, types, class headers, function signatures and their
docstrings, bodies left out. What ``--fit`` keeps of a file that does not fit whole.

Each language is one ``_Spec``: its grammar and one tree-sitter query whose captures say what
to keep. ``@keep`` nodes are kept whole (a function body inside one is still left out);
``@def`` nodes keep their text up to ``@body``, which becomes a placeholder; ``@scope`` nodes
(classes, impls, traits) keep their header and closing line and are outlined inside. Comments,
decorators and attributes right above a kept node come with it (doc comments). A grammar is
loaded on first use only.
"""

from __future__ import annotations

import functools
import importlib
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tree_sitter import Node, Parser, Query


@dataclass(frozen=True)
class _Spec:
    """One language: its grammar (module, function), its outline query, how a left-out body
    and a comment line are written, and whether docstrings open bodies (Python)."""

    module: str
    function: str
    query: str
    comment: str = "//"
    placeholder: str = "{ ... }"
    docstrings: bool = False
    wrappers: frozenset[str] = frozenset()  # parents that belong to a kept node (export, @deco)


_PYTHON = _Spec(
    "tree_sitter_python",
    "language",
    """
    (module . (expression_statement (string)) @keep)
    (import_statement) @keep
    (import_from_statement) @keep
    (future_import_statement) @keep
    (module (expression_statement (assignment)) @keep)
    (class_definition body: (block (expression_statement (assignment)) @keep))
    (function_definition body: (block) @body) @def
    (class_definition body: (block) @body) @scope
    """,
    comment="#",
    placeholder="...",
    docstrings=True,
    wrappers=frozenset({"decorated_definition"}),
)

_JAVASCRIPT_QUERY = """
    (import_statement) @keep
    (program (export_statement !declaration) @keep)
    (program (lexical_declaration) @keep)
    (program (variable_declaration) @keep)
    (program (export_statement declaration: [(lexical_declaration) (variable_declaration)]) @keep)
    (field_definition) @keep
    (function_declaration body: (statement_block) @body) @def
    (generator_function_declaration body: (statement_block) @body) @def
    (function_expression body: (statement_block) @body) @def
    (arrow_function body: (statement_block) @body) @def
    (method_definition body: (statement_block) @body) @def
    (class_declaration body: (class_body) @body) @scope
"""

_TYPESCRIPT_QUERY = (
    _JAVASCRIPT_QUERY.replace("(field_definition) @keep", "(public_field_definition) @keep")
    + """
    (interface_declaration) @keep
    (type_alias_declaration) @keep
    (enum_declaration) @keep
    (function_signature) @keep
    (ambient_declaration) @keep
    (abstract_class_declaration body: (class_body) @body) @scope
    (internal_module body: (statement_block) @body) @scope
    """
)

_JS_WRAPPERS = frozenset({"export_statement"})

_JAVASCRIPT = _Spec("tree_sitter_javascript", "language", _JAVASCRIPT_QUERY, wrappers=_JS_WRAPPERS)
_TYPESCRIPT = _Spec(
    "tree_sitter_typescript", "language_typescript", _TYPESCRIPT_QUERY, wrappers=_JS_WRAPPERS
)
_TSX = _Spec("tree_sitter_typescript", "language_tsx", _TYPESCRIPT_QUERY, wrappers=_JS_WRAPPERS)

_GO = _Spec(
    "tree_sitter_go",
    "language",
    """
    (package_clause) @keep
    (import_declaration) @keep
    (type_declaration) @keep
    (source_file (const_declaration) @keep)
    (source_file (var_declaration) @keep)
    (function_declaration body: (block) @body) @def
    (method_declaration body: (block) @body) @def
    """,
)

_RUST = _Spec(
    "tree_sitter_rust",
    "language",
    """
    (use_declaration) @keep
    (extern_crate_declaration) @keep
    (mod_item !body) @keep
    (struct_item) @keep
    (enum_item) @keep
    (union_item) @keep
    (type_item) @keep
    (const_item) @keep
    (static_item) @keep
    (function_signature_item) @keep
    (associated_type) @keep
    (function_item body: (block) @body) @def
    (impl_item body: (declaration_list) @body) @scope
    (trait_item body: (declaration_list) @body) @scope
    (mod_item body: (declaration_list) @body) @scope
    """,
)

_JAVA = _Spec(
    "tree_sitter_java",
    "language",
    """
    (package_declaration) @keep
    (import_declaration) @keep
    (field_declaration) @keep
    (constant_declaration) @keep
    (enum_constant) @keep
    (method_declaration !body) @keep
    (method_declaration body: (block) @body) @def
    (constructor_declaration body: (constructor_body) @body) @def
    (class_declaration body: (class_body) @body) @scope
    (interface_declaration body: (interface_body) @body) @scope
    (enum_declaration body: (enum_body) @body) @scope
    (record_declaration body: (class_body) @body) @scope
    (annotation_type_declaration body: (annotation_type_body) @body) @scope
    """,
)

SPECS: dict[str, _Spec] = {
    "py": _PYTHON,
    "pyi": _PYTHON,
    "js": _JAVASCRIPT,
    "mjs": _JAVASCRIPT,
    "cjs": _JAVASCRIPT,
    "jsx": _JAVASCRIPT,
    "ts": _TYPESCRIPT,
    "mts": _TYPESCRIPT,
    "cts": _TYPESCRIPT,
    "tsx": _TSX,
    "go": _GO,
    "rs": _RUST,
    "java": _JAVA,
}

# Siblings right above a node that document or qualify it.
_LEADING = frozenset({"comment", "line_comment", "block_comment", "attribute_item", "decorator"})


def language_of(path: str) -> str | None:
    """The extension whose grammar outlines ``path`` (None: no grammar, a plain head)."""
    extension = path.rpartition(".")[2].lower() if "." in path.rpartition("/")[2] else ""
    return extension if extension in SPECS else None


@functools.cache
def _compiled(spec: _Spec) -> tuple[Parser, Query]:
    from tree_sitter import Language, Parser, Query

    grammar: Callable[[], Any] = getattr(importlib.import_module(spec.module), spec.function)
    language = Language(grammar())
    return Parser(language), Query(language, spec.query)


@dataclass(frozen=True)
class _Item:
    kind: str  # "keep", "def" or "scope"
    start: int  # with its leading comments, decorators and wrappers
    node: Node
    body: Node | None


def outline(path: str, data: bytes) -> bytes | None:
    """The outline of a source file, or None when no grammar reads its extension."""
    extension = language_of(path)
    if extension is None:
        return None
    spec = SPECS[extension]
    parser, query = _compiled(spec)
    from tree_sitter import QueryCursor

    tree = parser.parse(data)
    items: list[_Item] = []
    for _, captures in QueryCursor(query).matches(tree.root_node):
        for kind in ("keep", "def", "scope"):
            for node in captures.get(kind, ()):
                body = captures.get("body", [None])[0]
                items.append(_Item(kind, _leading_start(node, spec), node, body))
    items.sort(key=lambda item: (item.start, -item.node.end_byte, item.kind != "scope"))
    return _Writer(data, spec, items).run()


def _leading_start(node: Node, spec: _Spec) -> int:
    """Where a kept node begins: its wrapper (``export``, a decorated definition), then the
    comments and attributes directly above it, with no blank line between."""
    while node.parent is not None and node.parent.type in spec.wrappers:
        node = node.parent
    start = node
    sibling = node.prev_named_sibling
    while (
        sibling is not None
        and sibling.type in _LEADING
        and sibling.end_point[0] >= start.start_point[0] - 1
    ):
        start = sibling
        sibling = sibling.prev_named_sibling
    return start.start_byte


class _Writer:
    """Writes the kept items in source order; what lies between them is left out."""

    def __init__(self, data: bytes, spec: _Spec, items: list[_Item]) -> None:
        self.data = data
        self.spec = spec
        self.items = items
        self.starts = [item.start for item in items]
        self.defs = [item for item in items if item.kind == "def" and item.body is not None]
        self.def_starts = [item.start for item in self.defs]
        self.out: list[bytes] = []
        self.inner = b""  # the indentation of a scope's members that share its first line

    def run(self) -> bytes:
        self._range(0, len(self.data))
        return b"".join(self.out)

    def _range(self, low: int, high: int) -> None:
        """Write the outermost items inside ``[low, high)``."""
        position = low
        for index in range(bisect_left(self.starts, low), len(self.items)):
            item = self.items[index]
            if item.start >= high:
                break
            if item.start < position or item.node.end_byte > high:
                continue
            self._item(item)
            position = item.node.end_byte

    def _item(self, item: _Item) -> None:
        node, body = item.node, item.body
        if self.out and self._blank_above(item.start):
            self.out.append(b"\n")
        if item.kind == "keep" or body is None:
            self._line(self._lead(item.start) + self._elided(item.start, node.end_byte))
        elif item.kind == "def":
            self._line(self._signature(item.start, body))
        else:
            self._scope(item, body)

    def _scope(self, item: _Item, body: Node) -> None:
        braces = self.data[body.start_byte : body.start_byte + 1] == b"{"
        head_end = body.start_byte + 1 if braces else body.start_byte
        lead = self._lead(item.start)
        self._line(lead + self.data[item.start : head_end].rstrip())
        written = len(self.out)
        doc = self._docstring(body)
        if doc is not None:
            self._line(self._lead(doc.start_byte) + self.data[doc.start_byte : doc.end_byte])
        outer, self.inner = self.inner, lead + b"    "
        self._range(doc.end_byte if doc is not None else body.start_byte, body.end_byte)
        self.inner = outer
        if not braces:
            if len(self.out) == written:
                self._line(self._indent(body) + b"...")
            return
        closing = body.end_byte - 1
        self._line(self._lead(closing) + b"}")

    def _signature(self, start: int, body: Node) -> bytes:
        """A definition up to its body, then the docstring (Python) and the placeholder."""
        head = self._elided(start, body.start_byte).rstrip()
        placeholder = self.spec.placeholder.encode()
        doc = self._docstring(body)
        gap = self.data[start : body.start_byte]
        own_line = b"\n" in gap[len(gap.rstrip()) :]  # the body starts on a line of its own
        head = self._lead(start) + head
        if doc is not None:
            indent = self._indent(body)
            text = self.data[doc.start_byte : doc.end_byte]
            return head + b"\n" + indent + text + b"\n" + indent + placeholder
        if self.spec.docstrings and own_line:
            return head + b"\n" + self._indent(body) + placeholder
        return head + b" " + placeholder

    def _docstring(self, body: Node) -> Node | None:
        if not self.spec.docstrings or not body.named_children:
            return None
        first = body.named_children[0]
        children = first.named_children
        is_doc = first.type == "expression_statement" and children and children[0].type == "string"
        return first if is_doc else None

    def _elided(self, start: int, end: int) -> bytes:
        """``data[start:end]`` with the bodies of the definitions inside it left out."""
        parts: list[bytes] = []
        position = start
        for index in range(bisect_left(self.def_starts, start), len(self.defs)):
            item = self.defs[index]
            body = item.body
            if item.start >= end:
                break
            if body is None or item.start < position:
                continue
            if body.start_byte < position or body.end_byte > end:
                continue
            parts.append(self.data[position : body.start_byte].rstrip() + b" ")
            parts.append(self.spec.placeholder.encode())
            position = body.end_byte
        parts.append(self.data[position:end])
        return b"".join(parts)

    def _lead(self, start: int) -> bytes:
        """The indentation before ``start`` (the scope's member indentation when ``start``
        shares a line with other code)."""
        line_start = self.data.rfind(b"\n", 0, start) + 1
        prefix = self.data[line_start:start]
        return prefix if not prefix.strip() else self.inner

    def _blank_above(self, start: int) -> bool:
        """Whether ``start`` opens its line and a blank line stands right above it."""
        line_start = self.data.rfind(b"\n", 0, start) + 1
        if self.data[line_start:start].strip():
            return False
        above = self.data.rfind(b"\n", 0, max(line_start - 1, 0)) + 1
        return line_start > 0 and not self.data[above : line_start - 1].strip()

    def _indent(self, body: Node) -> bytes:
        line_start = self.data.rfind(b"\n", 0, body.start_byte) + 1
        prefix = self.data[line_start : body.start_byte]
        return prefix if not prefix.strip() else b"    "

    def _line(self, text: bytes) -> None:
        self.out.append(text.rstrip(b"\n") + b"\n")


def comment_prefix(path: str) -> str | None:
    """How a line comment starts in the file's language (None: no grammar)."""
    extension = language_of(path)
    return SPECS[extension].comment if extension is not None else None
