"""The library never writes to the terminal: a pack reports progress through its callback
and problems as warnings; the history collects its warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccw.context.api import ContextRequest, build_context
from ccw.history import History
from ccw.result import ExecutionResult

from .conftest import write_tree


def test_a_pack_and_a_history_record_write_nothing_to_stdout_or_stderr(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    root = write_tree(tmp_path / "tree", {f"src/f{n}.py": f"x = {n}\n" for n in range(130)})
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "context.db").write_bytes(b"damaged " * 100)
    heard: list[tuple[int, int]] = []
    request = ContextRequest(
        prompt="@src/**/*.py look",
        root=root,
        cache_dir=tmp_path / "cache",
        on_progress=lambda done, total: heard.append((done, total)),
    )
    result = build_context(request)
    assert len(result.files) == 130
    assert heard[0] == (0, 130) and heard[-1] == (130, 130)
    assert any("was damaged" in warning for warning in result.warnings)
    db = tmp_path / "history.db"
    db.write_bytes(b"damaged " * 100)
    with History(db) as history:
        outcome = ExecutionResult(success=True, output="ok", tool="litellm", model="m")
        assert history.record(outcome, prompt="p", call_id="same") == "same"
        assert history.record(outcome, prompt="p", call_id="same") == "same-2"
    assert len(history.warnings) == 2
    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "")
