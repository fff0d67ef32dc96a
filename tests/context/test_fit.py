"""--fit in process: named files whole, the rest ranked by the named files' imports,
outlined or left out, every shortened file marked, the fitted pack stored and reused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ccw.context.api import build_context
from ccw.context.depends import rank
from ccw.context.fit import LEFT_OUT, FittedContext, PackTooLarge, fit_context, shorten
from ccw.context.request import ContextRequest

BODY = "\n".join(f"    value_{i} = {i} * 2" for i in range(80))


def _module(name: str, imports: str = "") -> str:
    functions = "".join(
        f'def {name}_{k}(a, b):\n    """Doc {k}."""\n{BODY}\n    return a\n\n' for k in range(3)
    )
    return f'"""Module {name}."""\n{imports}\n\n{functions}'


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text(
        "from app import used\nfrom app.also import also_0\n\ndef main():\n    return 1\n"
    )
    (root / "app" / "used.py").write_text(_module("used", "from app import deep"))
    (root / "app" / "also.py").write_text(_module("also"))
    (root / "app" / "deep.py").write_text(_module("deep"))
    for n in range(4):
        (root / "app" / f"other{n}.py").write_text(_module(f"other{n}"))
    (root / "notes.txt").write_text("\n".join(f"note {i}" for i in range(400)))
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def _request(root: Path, prompt: str, cache: Path | None = None) -> ContextRequest:
    return ContextRequest(prompt=prompt, root=root, cache_dir=cache, use_cache=cache is not None)


def test_rank_follows_the_named_files_imports(tree: Path) -> None:
    others = ["app/also.py", "app/deep.py", "app/other0.py", "app/used.py", "notes.txt"]
    ranked = rank(others, ["app/main.py"], lambda p: (tree / p).read_bytes())
    assert ranked[:3] == ["app/also.py", "app/used.py", "app/deep.py"]
    assert ranked[-1] == "notes.txt"  # unreached and furthest from the named file


def test_fit_keeps_named_whole_and_outlines_the_rest(tree: Path) -> None:
    request = _request(tree, "@app/main.py @app/*.py @notes.txt explain")
    ctx = build_context(request)
    budget = 2500
    assert ctx.total_tokens > budget
    fitted = fit_context(ctx, request, budget)
    assert isinstance(fitted, FittedContext)
    assert fitted.total_tokens <= budget
    assert fitted.named == ["app/main.py", "notes.txt"]
    shortened = {s.path: s.reason for s in fitted.shortened}
    assert "app/main.py" not in shortened and "notes.txt" not in shortened
    assert (tree / "app/main.py").read_text() in fitted.pack
    assert (tree / "notes.txt").read_text() in fitted.pack
    assert shortened["app/used.py"].startswith("signatures only")
    # Each shortened file says so in the pack, and keeps its signatures and docstrings.
    assert fitted.pack.count("# [ccw --fit] signatures only") == len(fitted.shortened)
    assert "def used_0(a, b):" in fitted.pack and '"""Doc 0."""' in fitted.pack
    assert "value_79" not in fitted.pack.split("app/used.py", 1)[1].split("</file>", 1)[0]
    # The pack keeps its file order.
    order = [f.path for f in ctx.files if f.path not in fitted.left_out_to_fit]
    assert [f.path for f in fitted.files] == order


def test_a_tight_budget_leaves_the_least_depended_upon_out(tree: Path) -> None:
    request = _request(tree, "@app/main.py @app/*.py explain")
    ctx = build_context(request)
    fitted = fit_context(ctx, request, 230)
    kept = {f.path for f in fitted.files}
    assert "app/main.py" in kept and "app/used.py" in kept and "app/also.py" in kept
    assert fitted.left_out_to_fit
    assert all(
        path.startswith("app/other") or path == "app/deep.py" for path in fitted.left_out_to_fit
    )
    assert [s.reason for s in fitted.skipped if s.path in fitted.left_out_to_fit] == [
        LEFT_OUT
    ] * len(fitted.left_out_to_fit)
    assert fitted.total_tokens <= 230


def test_named_files_larger_than_the_budget_is_an_error(tree: Path) -> None:
    request = _request(tree, "@notes.txt @app/*.py explain")
    ctx = build_context(request)
    with pytest.raises(PackTooLarge) as raised:
        fit_context(ctx, request, 100)
    assert "notes.txt" in raised.value.message
    assert raised.value.exit_code == 2


def test_a_pack_that_fits_is_left_whole(tree: Path) -> None:
    request = _request(tree, "@app/main.py explain")
    ctx = build_context(request)
    fitted = fit_context(ctx, request, 10_000)
    assert fitted.pack == ctx.pack and not fitted.shortened and not fitted.left_out_to_fit


def test_the_fitted_pack_is_stored_and_reused(tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    request = _request(tree, "@app/main.py @app/*.py explain", cache)
    first = fit_context(build_context(request), request, 900)
    assert first.shortened and not first.cache_used and first.session_id
    (tree / "app" / "other0.py").chmod(0)  # a hit reads no file
    try:
        again = fit_context(build_context(_request(tree, request.prompt, cache)), request, 900)
    finally:
        (tree / "app" / "other0.py").chmod(0o644)
    assert again.cache_used and again.session_id == first.session_id
    assert again.pack == first.pack
    assert [(s.path, s.reason) for s in again.shortened] == [
        (s.path, s.reason) for s in first.shortened
    ]
    assert again.left_out_to_fit == first.left_out_to_fit
    # Another window is another fitted pack.
    other = fit_context(build_context(request), request, 1500)
    assert not other.cache_used and other.session_id != first.session_id


def test_a_file_changed_after_packing_stops_the_fit(tree: Path) -> None:
    request = _request(tree, "@app/main.py @app/*.py explain")
    ctx = build_context(request)
    (tree / "app" / "deep.py").write_text("changed = True\n")
    with pytest.raises(Exception, match="changed while the pack was fitted"):
        fit_context(ctx, request, 900)


def test_shorten_marks_a_plain_head() -> None:
    data = "\n".join(f"line {i}" for i in range(500)).encode()
    short, how = shorten("notes.txt", data)
    assert how == "first 40 of 500 lines"
    assert short.endswith(b"[ccw --fit] first 40 of 500 lines; the rest left out\n")
    assert short.startswith(b"line 0\n") and b"line 40\n" not in short
