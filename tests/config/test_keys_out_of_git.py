"""Keys stay out of git: a literal key is refused in a file inside a git work tree (CLI and
API), ``.ccw/.gitignore`` keeps the lock file and local state out of ``git status``, and the
config itself stays committable."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.config.conftest import CONFIG_RELATIVE, SECRET, ok, read_json, user_error
from tests.conftest import RunCcw


@pytest.fixture
def repo(project: Path) -> Path:
    """The test project as a git repository (its .ccw/ folder already exists)."""
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    return project


def _porcelain(repo: Path) -> list[str]:
    done = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(done.stdout.splitlines())


def test_a_literal_key_is_refused_inside_a_git_work_tree(run_ccw: RunCcw, repo: Path) -> None:
    config = repo / CONFIG_RELATIVE
    refused = run_ccw("provider", "add", "-t", "anthropic", "--id", "ant", "--api-key", SECRET)
    err = user_error(refused, "refusing to write a literal key", str(repo), "--global")
    assert refused.returncode == 2
    assert "ccw keys set ANTHROPIC_API_KEY" in err and "--api-key '${ANTHROPIC_API_KEY}'" in err
    assert SECRET not in err + refused.stdout
    assert not config.exists()

    ok(
        run_ccw(
            "provider", "add", "-t", "anthropic", "--id", "ant", "--api-key", "${ANTHROPIC_API_KEY}"
        )
    )
    before = config.read_bytes()
    again = run_ccw("provider", "update", "ant", "--api-key", SECRET)
    user_error(again, "refusing to write a literal key")
    headers = run_ccw("provider", "update", "ant", "--headers", '{"X-Api-Key": "' + SECRET + '"}')
    user_error(headers, "refusing to write a literal key")
    assert config.read_bytes() == before
    # A plain header is not a key; --allow-literal-key writes one knowingly.
    ok(run_ccw("provider", "update", "ant", "--headers", '{"X-Team": "qa"}'))
    ok(run_ccw("provider", "update", "ant", "--api-key", SECRET, "--allow-literal-key"))
    assert read_json(config)["providers"][0]["apiKey"] == SECRET


def test_global_keeps_a_literal_key_out_of_the_repository(run_ccw: RunCcw, repo: Path) -> None:
    added = ok(
        run_ccw("provider", "add", "-t", "openai", "--id", "oai", "--api-key", SECRET, "--global")
    )
    assert "stored literally" in added.stderr and "ccw keys set OPENAI_API_KEY" in added.stderr
    user_file = Path(os.environ["CCW_USER_CONFIG_DIR"]) / "litellm-api-config.json"
    assert read_json(user_file)["providers"][0]["apiKey"] == SECRET
    assert user_file.stat().st_mode & 0o777 == 0o600
    assert _porcelain(repo) == []


def test_ccw_gitignore_leaves_only_the_config_to_commit(run_ccw: RunCcw, repo: Path) -> None:
    ok(run_ccw("provider", "add", "-t", "openai", "--id", "oai", "--api-key", "${OPENAI_API_KEY}"))
    ok(run_ccw("endpoint", "add", "gpt", "-p", "oai", "-m", "gpt-4o"))
    ccw = repo / ".ccw"
    assert (ccw / "storage" / "config" / "litellm-api-config.json.lock").exists()
    (ccw / "cache").mkdir()
    (ccw / "cache" / "entry.bin").write_bytes(b"x")
    (ccw / "storage" / "history.db").write_bytes(b"x")
    (ccw / "storage" / "config" / ".litellm-api-config.abc.tmp").write_text("{}")
    assert _porcelain(repo) == [
        "?? .ccw/.gitignore",
        "?? .ccw/storage/config/litellm-api-config.json",
    ]
    # A .gitignore the user wrote is theirs: never replaced.
    (ccw / ".gitignore").write_text("# mine\n")
    ok(run_ccw("endpoint", "update", "gpt", "--ttl", "5"))
    assert (ccw / ".gitignore").read_text() == "# mine\n"


def test_creating_ccw_writes_its_gitignore(run_ccw: RunCcw, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    subprocess.run(["git", "init", "-q", str(fresh)], check=True)
    ok(
        run_ccw(
            "endpoint", "add", "loc", "-p", "local", "-m", "smollm2-135m", "--project", cwd=fresh
        )
    )
    assert (fresh / ".ccw" / ".gitignore").is_file()
    assert _porcelain(fresh) == [
        "?? .ccw/.gitignore",
        "?? .ccw/storage/config/litellm-api-config.json",
    ]


def test_a_config_git_ignores_may_hold_a_literal_key(run_ccw: RunCcw, repo: Path) -> None:
    (repo / ".gitignore").write_text(".ccw/\n")
    added = ok(run_ccw("provider", "add", "-t", "openai", "--id", "oai", "--api-key", SECRET))
    assert "stored literally" in added.stderr
    assert read_json(repo / CONFIG_RELATIVE)["providers"][0]["apiKey"] == SECRET
    assert _porcelain(repo) == ["?? .gitignore"]
