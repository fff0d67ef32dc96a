"""In-process fixtures: ccw's data directory and home in a temporary folder, no keys."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, home: Path) -> Path:
    """Where this test's history (real SQLite) and local-model state live."""
    folder = tmp_path / "data"
    monkeypatch.setenv("CCW_DATA_DIR", str(folder))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CCW_CONFIG", raising=False)
    return folder
