"""``ccw cli`` on the real embedded model: a fresh project needs no setup at all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import write_config
from tests.conftest import RunCcw
from tests.fakes.ports import free_port

pytestmark = pytest.mark.model


@pytest.fixture
def local_project(project: Path, run_ccw: RunCcw) -> Iterator[Path]:
    port = free_port()
    write_config(project, {"version": 1, "localModel": {"port": port}})
    yield project
    run_ccw("local", "stop")


def test_fresh_project_answers_with_the_local_model(run_ccw: RunCcw, local_project: Path) -> None:
    (local_project / "fact.txt").write_text("The secret word is banana.\n")
    done = run_ccw("cli", "-p", "@fact.txt What is the secret word? Answer in one word.", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["success"] is True
    assert result["endpointId"] == "local"
    assert result["provider"] == "local"
    assert result["cachedFiles"] == ["fact.txt"]
    assert result["cost"] == 0  # the embedded model is free: $0, not unknown
    assert result["usage"]["promptTokens"] > 0
    assert isinstance(result["output"], str) and result["output"].strip()
    assert "started the local model" in done.stderr

    again = run_ccw("cli", "-p", "@fact.txt What is the secret word? Answer in one word.")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip()
    assert "started the local model" not in again.stderr
    assert "1 file reused" in again.stderr and "· $0" in again.stderr
    assert "cost unknown" not in again.stderr
