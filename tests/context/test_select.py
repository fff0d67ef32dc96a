"""Which files a pattern selects: git's view, .gitignore, default ignores, containment."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ccw.context.api import ContextResult
from ccw.context.packing import NOTHING_MATCHED
from ccw.errors import UsageError

from .conftest import Tree, age, git_init, write_tree

Pack = Callable[..., ContextResult]

IGNORE_TREE: Tree = {
    ".gitignore": "*.log\n!keep.log\n/build-out/\nsecret_dir/\n",
    "app.py": "print('app')\n",
    "debug.log": "noise\n",
    "keep.log": "kept\n",
    "build-out/x.py": "ignored (anchored folder)\n",
    "sub/build-out/y.txt": "kept: the anchored rule is for the root only\n",
    "sub/.gitignore": "*.py\n!main.py\n",
    "sub/main.py": "kept (negated in the nested file)\n",
    "sub/other.py": "ignored by the nested file\n",
    "sub/deep/z.py": "ignored by the nested file\n",
    "secret_dir/a.txt": "ignored folder\n",
    "node_modules/pkg/index.js": "default ignore\n",
    "__pycache__/m.pyc": b"\x00\x01",
    ".venv/lib/site.py": "default ignore\n",
    "env2/pyvenv.cfg": "home = /usr\n",
    "env2/lib/x.py": "a virtual environment without a usual name\n",
}
EXPECTED = ["app.py", "keep.log", "sub/build-out/y.txt", "sub/main.py"]


def paths(result: ContextResult) -> list[str]:
    return [item.path for item in result.files]


def test_walk_applies_nested_anchored_and_negated_gitignore(
    tree: Callable[[Tree], Path], pack: Pack
) -> None:
    root = tree(IGNORE_TREE)
    result = pack("@**/*", root, use_cache=False)
    expected = [*EXPECTED, ".gitignore", "sub/.gitignore"]
    assert sorted(paths(result)) == sorted(expected)


def test_git_view_gives_the_same_files(tree: Callable[[Tree], Path], pack: Pack) -> None:
    root = tree({k: v for k, v in IGNORE_TREE.items() if not k.startswith("env2")})
    git_init(root)
    result = pack("@**/*", root, use_cache=False)
    assert sorted(paths(result)) == sorted([*EXPECTED, ".gitignore", "sub/.gitignore"])


@pytest.mark.parametrize("use_git", [False, True])
def test_explicit_file_beats_default_ignores(
    tree: Callable[[Tree], Path], pack: Pack, use_git: bool
) -> None:
    root = tree(IGNORE_TREE)
    if use_git:
        git_init(root)
    result = pack("@node_modules/pkg/index.js @debug.log", root, use_cache=False)
    assert paths(result) == ["node_modules/pkg/index.js", "debug.log"]


def test_order_is_patterns_as_written_then_sorted(tree: Callable[[Tree], Path], pack: Pack) -> None:
    root = tree({"b/2.md": "2", "b/1.md": "1", "a/z.py": "z", "a/y.py": "y", "c.txt": "c"})
    result = pack("@c.txt @b/*.md @a/** @b/1.md", root, use_cache=False)
    assert paths(result) == ["c.txt", "b/1.md", "b/2.md", "a/y.py", "a/z.py"]


def test_excludes_and_braces(tree: Callable[[Tree], Path], pack: Pack) -> None:
    root = tree({"src/a.py": "", "src/a_test.py": "", "lib/b.py": "", "tests/t.py": "", "x.md": ""})
    result = pack("@{src,lib,tests}/*.py @!*_test.py @!tests", root, use_cache=False)
    assert paths(result) == ["lib/b.py", "src/a.py"]
    anchored = pack("@** @!./x.md @!src/a*.py", root, use_cache=False)
    assert paths(anchored) == ["lib/b.py", "tests/t.py"]


def test_paths_with_spaces_brackets_and_parentheses(
    tree: Callable[[Tree], Path], pack: Pack
) -> None:
    root = tree(
        {
            "my docs/a b.md": "spaces",
            "app/[id]/page.tsx": "brackets",
            "lib/f(1).txt": "parens",
        }
    )
    result = pack('@"my docs/*.md" @app/[id]/page.tsx (see @lib/f(1).txt)', root, use_cache=False)
    assert paths(result) == ["my docs/a b.md", "app/[id]/page.tsx", "lib/f(1).txt"]
    assert result.prompt == '"my docs/*.md" app/[id]/page.tsx (see lib/f(1).txt)'


def test_symlinks_and_dotdot_never_leave_the_root(tmp_path: Path, pack: Pack) -> None:
    outside = write_tree(tmp_path / "outside", {"secret.txt": "outside the project\n"})
    root = write_tree(tmp_path / "proj", {"inside.txt": "in\n", "sub/a.txt": "a\n"})
    os.symlink(outside / "secret.txt", root / "link.txt")
    os.symlink(outside, root / "linkdir")
    os.symlink(root / "inside.txt", root / "ok-link.txt")
    result = pack("@** @linkdir/secret.txt @sub/../../outside/secret.txt", root, use_cache=False)
    assert paths(result) == ["inside.txt", "ok-link.txt", "sub/a.txt"]
    reasons = {item.path: item.reason for item in result.skipped}
    assert "outside" in reasons["link.txt"]
    assert "outside" in reasons["linkdir/secret.txt"]
    assert "outside" in reasons["../outside/secret.txt"]
    assert "outside the project" not in result.pack


def test_explicit_dotdot_pattern_and_include_dirs(tmp_path: Path, pack: Pack) -> None:
    shared = write_tree(tmp_path / "shared", {"notes.md": "shared notes\n", "deep/x.md": "x\n"})
    other = write_tree(tmp_path / "other", {"o.md": "other\n"})
    root = write_tree(tmp_path / "proj", {"a.md": "a\n"})
    os.symlink(other / "o.md", shared / "escape.md")
    result = pack("@../shared/**/* @a.md", root, use_cache=False)
    assert paths(result) == ["../shared/deep/x.md", "../shared/notes.md", "a.md"]
    assert any(item.path == "../shared/escape.md" for item in result.skipped)
    os.symlink(other, root / "other-link")
    refused = pack("@other-link/o.md", root, use_cache=False)
    assert paths(refused) == []
    allowed = pack("@other-link/o.md", root, use_cache=False, include_dirs=[other])
    assert paths(allowed) == ["other-link/o.md"]


def test_file_patterns_of_the_endpoint_limit_the_files(
    tree: Callable[[Tree], Path], pack: Pack
) -> None:
    root = tree({"a.md": "", "b.ts": "", "c.py": "", "d/e.md": ""})
    result = pack("@** @c.py", root, use_cache=False, file_patterns=["*.md", "*.ts"])
    assert paths(result) == ["a.md", "b.ts", "d/e.md"]
    assert [(s.path, s.reason) for s in result.skipped] == [
        ("c.py", "not in the endpoint's filePatterns")
    ]


def test_pattern_matching_nothing_is_a_usage_error_naming_it_and_its_folder(
    tree: Callable[[Tree], Path], pack: Pack
) -> None:
    root = tree({"a.md": "a"})
    with pytest.raises(UsageError) as raised:
        pack("@a.md @nope/*.rs", root, use_cache=False)
    assert raised.value.exit_code == 2
    assert "'nope/*.rs' matched no file in " + str(root.resolve()) in raised.value.message
    assert raised.value.fix is not None and "--allow-empty" in raised.value.fix
    assert not (root.parent / "cache").exists()  # raised before anything was stored


def test_allow_empty_warns_and_packs_the_rest(tree: Callable[[Tree], Path], pack: Pack) -> None:
    root = tree({"a.md": "a"})
    some = pack("@a.md @nope/*.rs", root, use_cache=False, allow_empty=True)
    assert paths(some) == ["a.md"]
    assert some.warnings == [f"pattern 'nope/*.rs' matched no file in {root.resolve()}"]
    none = pack("Explain @missing.py please", root, use_cache=False, allow_empty=True)
    assert none.pack == ""
    assert none.files == []
    assert NOTHING_MATCHED in none.warnings
    assert none.final_prompt() == "Explain missing.py please"


def test_a_pattern_missing_here_is_read_from_the_project_root(
    tree: Callable[[Tree], Path], pack: Pack
) -> None:
    root = tree({"docs/guide.md": "guide\n", "src/app/main.py": "main\n"})
    folder = root / "src" / "app"
    result = pack("@docs/guide.md @main.py", folder, use_cache=False, project_root=root)
    assert paths(result) == ["../../docs/guide.md", "main.py"]
    assert result.warnings == [
        f"pattern 'docs/guide.md' matched no file in {folder.resolve()}; "
        f"it was read from the project root {root.resolve()}"
    ]
    with pytest.raises(UsageError, match="nor from the project root"):
        pack("@nowhere.md", folder, use_cache=False, project_root=root)


POLICY_TREE: Tree = {
    "app.py": "app\n",
    "build/gen.py": "generated\n",
    "dist/pkg/x.py": "dist\n",
    "node_modules/m/index.js": "js\n",
    "env2/pyvenv.cfg": "home = /usr\n",
    "env2/lib/site.py": "venv\n",
    "src/target/t.py": "target\n",
}


@pytest.mark.parametrize("use_git", [False, True])
def test_policy_folders_are_counted_and_can_be_turned_off(
    tree: Callable[[Tree], Path], pack: Pack, use_git: bool
) -> None:
    root = tree(POLICY_TREE)
    if use_git:
        git_init(root)
        subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    result = pack("@**/*.py", root, use_cache=False)
    assert paths(result) == ["app.py"]
    assert result.excluded == {
        "build/": 1,
        "dist/": 1,
        "folders holding pyvenv.cfg": 1,
        "target/": 1,
    }
    assert result.to_json()["excludedByPolicy"] == result.excluded
    everything = pack("@**/*.py", root, use_cache=False, exclude_dirs=[])
    assert len(paths(everything)) == 5 and everything.excluded == {}
    only_build = pack("@**/*.py", root, use_cache=False, exclude_dirs=["build"])
    assert "build/gen.py" not in paths(only_build) and "dist/pkg/x.py" in paths(only_build)
    assert only_build.excluded == {"build/": 1, "folders holding pyvenv.cfg": 1}


def test_policy_counts_survive_a_cache_hit(tree: Callable[[Tree], Path], pack: Pack) -> None:
    root = tree(POLICY_TREE)
    age(root)
    first = pack("@**/*.py", root)
    again = pack("@**/*.py", root)
    assert again.cache_used and again.excluded == first.excluded != {}
    assert [item.path for item in again.skipped] == []


def test_explicit_paths_and_named_folders_are_never_left_out_by_policy(
    tree: Callable[[Tree], Path], pack: Pack
) -> None:
    root = tree(POLICY_TREE)
    result = pack("@build/gen.py @dist/**/*.py @env2/lib/site.py", root, use_cache=False)
    assert paths(result) == ["build/gen.py", "dist/pkg/x.py", "env2/lib/site.py"]
    assert result.excluded == {}


def test_excludes_and_counts_ignore_gitignored_policy_folders(
    tree: Callable[[Tree], Path], pack: Pack
) -> None:
    root = tree({**POLICY_TREE, ".gitignore": "build/\n"})
    result = pack("@**/*.py @!dist", root, use_cache=False)
    assert "build/" not in result.excluded and "dist/" not in result.excluded
