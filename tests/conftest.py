"""Shared fixtures: every test runs ccw as a user would, in an isolated home and project."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# Offline and quiet LiteLLM for every process a test starts.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")

RunCcw = Callable[..., subprocess.CompletedProcess[str]]


def _import_anyio_now() -> None:
    """anyio ships a pytest plugin, so pytest rewrites every anyio module it imports, and
    anyio imports its modules lazily, on first use. The dashboards under test run in
    threads: two of them parsing at once crash CPython 3.11's AST validator
    ("AST constructor recursion depth mismatch", python/cpython#106905). Importing anyio
    whole here, in one thread, leaves nothing for the servers to parse."""
    import importlib
    import pkgutil

    import anyio

    for module in pkgutil.walk_packages(anyio.__path__, "anyio."):
        if "trio" not in module.name and "pytest_plugin" not in module.name:
            importlib.import_module(module.name)


_import_anyio_now()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse to test on a known-malicious litellm or with planted start-up files."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from check_supply_chain import problems

    found = problems()
    if found:
        pytest.exit("supply-chain check failed: " + "; ".join(found), returncode=3)


@pytest.fixture(autouse=True)
def _isolated_user_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the real user config (``~/.config/ccw``), key store or home
    folder (the default context cache is ``~/.ccw/cache/context``): all point into the
    test's own folder, for ccw run in process and for the processes started with
    ``ccw_env`` (which copies this environment)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CCW_USER_CONFIG_DIR", str(tmp_path / "user-config"))
    monkeypatch.setenv("CCW_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project folder (holding ``.ccw/``) that ccw runs in."""
    folder = tmp_path / "project"
    (folder / ".ccw").mkdir(parents=True)
    return folder


@pytest.fixture
def ccw_env(home: Path, tmp_path: Path) -> dict[str, str]:
    """The environment of a ccw process: own HOME and data dir, no keys, offline LiteLLM."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_API_KEY") and k not in ("CCW_CONFIG", "CCW_DATA_DIR")
    }
    env.update(
        HOME=str(home),
        CCW_DATA_DIR=str(tmp_path / "data"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_OFFLINE_MODE="true",
        NO_COLOR="1",
        COLUMNS="200",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def run_ccw(project: Path, ccw_env: dict[str, str]) -> RunCcw:
    """Run ``python -m ccw ARGS`` in the project; returns the completed process."""

    def run(
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ccw", *args],
            cwd=cwd or project,
            env={**ccw_env, **(env or {})},
            input=input,
            # Never the runner's own stdin: piped input joins the prompt.
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
