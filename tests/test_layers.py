"""The package's layers and what each may import, checked on the source with ``ast``.

Every import counts, at any depth: inside functions (the lazy imports that keep ``ccw --help``
fast) and inside ``if TYPE_CHECKING:`` blocks alike. A module whose layer is not in the table
is itself a violation, so a new top-level module needs a decision here.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

GROUND = "ground"
API = "api"

# Module (or package) -> layer; the longest matching prefix wins, and ``ccw`` itself (the
# facade) matches only itself.
LAYER_OF = {
    "ccw.errors": GROUND,
    "ccw.result": GROUND,
    "ccw.paths": GROUND,
    "ccw.sqlite": GROUND,
    "ccw.version": GROUND,
    "ccw.config": "config",
    "ccw.context": "context",
    "ccw.history": "history",
    "ccw.local": "local",
    "ccw.exec": "exec",
    "ccw": API,  # the public facade, ccw/__init__.py
    "ccw.spec_api": API,
    "ccw.warm": "warm",
    "ccw.server": "server",
    "ccw.cli": "cli",
    "ccw.__main__": "cli",
}

# Layer -> the other layers it may import. Lower layers never import higher ones: config and
# context never import exec, history never imports exec, the library (everything but server
# and cli) never imports server or cli, and the server never imports cli.
MAY_IMPORT = {
    GROUND: set[str](),
    "config": {GROUND},
    "context": {GROUND, "config"},
    "history": {GROUND, "config"},
    "local": {GROUND, "config"},
    "exec": {GROUND, "config", "context", "history", "local"},
    API: {GROUND, "config", "context", "history", "local", "exec"},
    # The warm path runs ``execute`` in a long-lived process: a caller of the library, as the
    # server is, and independent of it.
    "warm": {GROUND, "config", "context", "history", "local", "exec", API},
    "server": {GROUND, "config", "context", "history", "local", "exec", API},
    "cli": {GROUND, "config", "context", "history", "local", "exec", API, "warm", "server"},
}

# The few imports that cross the layers on purpose, each with its reason.
# A CLI tool pointed at an endpoint (``ccw cli --tool claude --model EP``) needs a gateway for
# the length of its run: the executor starts the server's own, lazily, inside that run.
ALLOWED = {("ccw.exec.tools.on_endpoint", "ccw.server.gateway.local")}


@dataclass(frozen=True)
class Violation:
    where: str  # file:line
    importer: str
    imported: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.importer} imports {self.imported} ({self.reason})"


def layer_of(module: str) -> str | None:
    if module == "ccw":
        return API
    parts = module.split(".")
    for end in range(len(parts), 1, -1):
        found = LAYER_OF.get(".".join(parts[:end]))
        if found is not None:
            return found
    return None


def _modules(src: Path) -> dict[str, Path]:
    found = {}
    for path in sorted((src / "ccw").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(module: str, path: Path, known: set[str]) -> list[tuple[int, str]]:
    """Every ``ccw`` module ``path`` imports, with its line, at any depth of the tree."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            for alias in node.names:
                submodule = f"{origin}.{alias.name}"
                found.append((node.lineno, submodule if submodule in known else origin))
    return [(line, name) for line, name in found if name == "ccw" or name.startswith("ccw.")]


def check_layers(src: Path) -> list[Violation]:
    """Every import under ``src/ccw`` that crosses the layers the wrong way."""
    modules = _modules(src)
    known = set(modules)
    violations = []
    for module, path in modules.items():
        where = str(path.relative_to(src.parent)) if src.parent in path.parents else str(path)
        mine = layer_of(module)
        if mine is None:
            violations.append(Violation(f"{where}:1", module, "-", "module has no layer"))
            continue
        for line, imported in _imports(module, path, known):
            theirs = layer_of(imported)
            if theirs is None:
                reason = "imported module has no layer"
            elif theirs == mine or theirs in MAY_IMPORT[mine] or (module, imported) in ALLOWED:
                continue
            else:
                reason = f"layer {mine} may not import layer {theirs}"
            violations.append(Violation(f"{where}:{line}", module, imported, reason))
    return violations


def test_the_package_keeps_its_layers() -> None:
    violations = check_layers(SRC)
    assert not violations, "\n".join(map(str, violations))


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "src" / "ccw" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root / "src"


def test_a_planted_violation_fails_with_its_file_and_line(tmp_path: Path) -> None:
    src = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "errors.py": "",
            "exec/__init__.py": "",
            "exec/run.py": "from ccw.config import store\n",
            "cli/__init__.py": "",
            "server/__init__.py": "",
            "history/__init__.py": "",
            "config/__init__.py": "",
            "config/store.py": """\
                from typing import TYPE_CHECKING

                from ccw.errors import CcwError

                if TYPE_CHECKING:
                    from ccw.exec.run import execute


                def later() -> None:
                    from ..cli import app
            """,
            "history/store.py": "import ccw.exec.run\n",
            "server/app.py": "from ccw import cli\n",
            "stray.py": "",
        },
    )
    found = sorted(str(v) for v in check_layers(src))
    assert found == [
        "src/ccw/config/store.py:10: ccw.config.store imports ccw.cli (layer config may not"
        " import layer cli)",
        "src/ccw/config/store.py:6: ccw.config.store imports ccw.exec.run (layer config may not"
        " import layer exec)",
        "src/ccw/history/store.py:1: ccw.history.store imports ccw.exec.run (layer history may"
        " not import layer exec)",
        "src/ccw/server/app.py:1: ccw.server.app imports ccw.cli (layer server may not import"
        " layer cli)",
        "src/ccw/stray.py:1: ccw.stray imports - (module has no layer)",
    ]


def test_the_facade_may_not_import_cli_or_server(tmp_path: Path) -> None:
    src = _tree(
        tmp_path,
        {
            "__init__.py": "def __getattr__(name):\n    from ccw.server import app\n",
            "server/__init__.py": "",
            "server/app.py": "",
            "spec_api.py": "from ccw.cli.app import app\n",
            "cli/__init__.py": "",
            "cli/app.py": "",
        },
    )
    found = sorted(str(v) for v in check_layers(src))
    assert found == [
        "src/ccw/__init__.py:2: ccw imports ccw.server.app (layer api may not import layer server)",
        "src/ccw/spec_api.py:1: ccw.spec_api imports ccw.cli.app (layer api may not import"
        " layer cli)",
    ]
