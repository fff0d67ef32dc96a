"""``ccw cli`` with @patterns: the pack reaches the model, is reused; --dry-run sends nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import SECRET
from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer


@pytest.fixture
def sources(project: Path) -> Path:
    (project / "src").mkdir()
    (project / "src" / "auth.py").write_text("def login(user):\n    return check(user)\n")
    (project / "src" / "util.py").write_text("def check(user):\n    return True\n")
    (project / "README.md").write_text("# Demo\n")
    return project


def _user_text(body: dict) -> str:
    content = body["messages"][-1]["content"]
    if isinstance(content, list):
        return "".join(block["text"] for block in content)
    return content


def test_pack_then_separator_then_prompt_and_reuse(
    run_ccw: RunCcw,
    configured: Path,
    sources: Path,
    server: ProviderServer,
    keys: dict[str, str],
) -> None:
    server.echo = True
    first = run_ccw("cli", "-p", "@src/**/*.py Review security", "--json", env=keys)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["cachedFiles"] == ["src/auth.py", "src/util.py"]
    assert result["cacheUsed"] is False
    sent = _user_text(server.requests[-1].body)
    pack, prompt = sent.split("\n\n---\n\n")
    assert "def login(user)" in pack and "def check(user)" in pack
    assert pack.index("src/auth.py") < pack.index("src/util.py")
    assert "Review security" in prompt
    assert "src/**/*.py" in prompt  # the pattern stays readable

    second = run_ccw("cli", "-p", "@src/**/*.py Review security", "--json", env=keys)
    assert json.loads(second.stdout)["cacheUsed"] is True
    assert _user_text(server.requests[-1].body) == sent  # byte-identical pack

    (sources / "src" / "util.py").write_text("def check(user):\n    return user.ok\n")
    third = run_ccw("cli", "-p", "@src/**/*.py Review security", "--json", env=keys)
    assert json.loads(third.stdout)["cacheUsed"] is False
    assert "user.ok" in _user_text(server.requests[-1].body)

    fresh = run_ccw("cli", "-p", "@src/**/*.py Review security", "--json", "--no-cache", env=keys)
    assert json.loads(fresh.stdout)["cacheUsed"] is False


def test_anthropic_gets_a_cache_breakpoint_on_a_pack_above_its_minimum(
    run_ccw: RunCcw,
    configured: Path,
    sources: Path,
    server: ProviderServer,
    keys: dict[str, str],
) -> None:
    # About 1,300 tokens: above claude-sonnet's 1,024-token minimum cacheable prefix.
    (sources / "NOTES.md").write_text("# Notes\n" + "A line of notes to cache.\n" * 200)
    done = run_ccw("cli", "-p", "@NOTES.md Summarise", "--model", "claude", env=keys)
    assert done.returncode == 0, done.stderr
    call = next(r for r in reversed(server.requests) if r.path == "/v1/messages")
    blocks = call.body["messages"][-1]["content"]
    assert blocks[0]["cache_control"]["type"] == "ephemeral"
    assert "# Notes" in blocks[0]["text"] and blocks[0]["text"].endswith("\n\n---\n\n")
    assert "Summarise" in blocks[1]["text"]
    small = run_ccw("cli", "-p", "@README.md Summarise", "--model", "claude", env=keys)
    assert small.returncode == 0, small.stderr
    call = next(r for r in reversed(server.requests) if r.path == "/v1/messages")
    content = call.body["messages"][-1]["content"]
    blocks = content if isinstance(content, list) else [{"text": content}]
    assert all("cache_control" not in block for block in blocks)  # below the minimum


def test_unmatched_pattern_stops_the_call_unless_allow_empty(
    run_ccw: RunCcw, configured: Path, sources: Path, server: ProviderServer, keys: dict[str, str]
) -> None:
    stopped = run_ccw("cli", "-p", "@nothing/*.go Explain", env=keys)
    assert stopped.returncode == 2
    assert "nothing/*.go" in stopped.stderr and "--allow-empty" in stopped.stderr
    assert [r for r in server.requests if r.method == "POST"] == []
    done = run_ccw("cli", "-p", "@nothing/*.go Explain", "--allow-empty", env=keys)
    assert done.returncode == 0, done.stderr
    assert "nothing/*.go" in done.stderr
    assert "without context" in done.stderr


def test_dry_run_lists_files_tokens_and_cost_and_sends_nothing(
    run_ccw: RunCcw,
    configured: Path,
    sources: Path,
    server: ProviderServer,
    keys: dict[str, str],
) -> None:
    (sources / "src" / ".env").write_text(f"OPENAI_API_KEY={SECRET}\n")
    done = run_ccw("cli", "-p", "@src/** Review", "--dry-run", "--json", env=keys)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert [f["path"] for f in plan["files"]] == ["src/auth.py", "src/util.py"]
    assert all(f["tokens"] > 0 and f["size"] > 0 for f in plan["files"])
    assert any(s["path"] == "src/.env" for s in plan["skipped"])
    assert plan["inputCost"] > 0  # gpt-4o is priced
    assert server.requests == []
    assert SECRET not in done.stdout + done.stderr
    table = run_ccw("cli", "-p", "@src/** Review", "--dry-run", env=keys)
    assert "src/auth.py" in table.stdout and "Nothing was sent" in table.stdout
    assert server.requests == []


def test_dry_run_says_what_the_folder_policy_left_out(
    run_ccw: RunCcw,
    configured: Path,
    sources: Path,
    server: ProviderServer,
    keys: dict[str, str],
) -> None:
    (sources / "dist").mkdir()
    (sources / "dist" / "bundle.py").write_text("bundle = 1\n")
    done = run_ccw("cli", "-p", "@**/*.py Review", "--dry-run", "--json", env=keys)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert [f["path"] for f in plan["files"]] == ["src/auth.py", "src/util.py"]
    assert plan["excludedByPolicy"] == {"dist/": 1}
    table = run_ccw("cli", "-p", "@**/*.py Review", "--dry-run", env=keys)
    assert "left out by folder policy: 1 file (1 in dist/)" in table.stdout
    assert server.requests == []


def test_max_files_bounds_the_pack_and_the_overflow_names_it(
    run_ccw: RunCcw, configured: Path, sources: Path, server: ProviderServer, keys: dict[str, str]
) -> None:
    cut = run_ccw(
        "cli", "--dry-run", "--json", "--max-files", "1", "-p", "@src/*.py Review", env=keys
    )
    assert cut.returncode == 0, cut.stderr
    plan = json.loads(cut.stdout)
    assert len(plan["files"]) == 1
    refused = run_ccw(
        "cli", "--max-files", "1", "--on-overflow", "fail", "-p", "@src/*.py Review", env=keys
    )
    assert refused.returncode != 0
    assert "file count limit of 1" in refused.stderr and "--max-files 2" in refused.stderr
    assert [r for r in server.requests if r.method == "POST"] == []
    whole = run_ccw(
        "cli", "--dry-run", "--json", "--max-files", "2", "-p", "@src/*.py Review", env=keys
    )
    assert len(json.loads(whole.stdout)["files"]) == 2
