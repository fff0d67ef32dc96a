"""Gemini explicit caching in process: a real pack, the real call path (LiteLLM's gemini/
route) against the test Gemini API, the names kept in real SQLite, the sweep."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ccw.config.schema import Config
from ccw.context.api import SEPARATOR, build_context, context_request, open_cache
from ccw.exec import events, gemini_cache
from ccw.exec.executor import Request
from ccw.exec.gemini_store import DB_NAME, GeminiCacheStore, Row, Slot
from ccw.exec.litellm_call import CallOutcome, complete
from ccw.exec.target import resolve_target
from tests.fakes.gemini_server import MINIMUMS, GeminiServer, tokens

KEY = "AIza-test-GEMINI-key-0123456789"
HEADER = "team-header-secret-value"


@pytest.fixture
def gemini() -> Iterator[GeminiServer]:
    with GeminiServer(key=KEY) as srv:
        yield srv


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "big.py").write_text("def f():\n    return 'a fairly long line'\n" * 150)
    (folder / "small.py").write_text("x = 1\n")
    monkeypatch.setenv("TEST_GEMINI_KEY", KEY)
    return folder


def config(gemini: GeminiServer, tmp_path: Path, **strategy: Any) -> Config:
    return Config.model_validate(
        {
            "providers": [
                {
                    "id": "gg",
                    "type": "gemini",
                    "apiKey": "${TEST_GEMINI_KEY}",
                    "apiBase": gemini.base,
                    "customHeaders": {"X-Team": HEADER},
                }
            ],
            "endpoints": [
                {
                    "id": "gem",
                    "providerId": "gg",
                    "model": "gemini-2.5-flash",
                    "maxTokens": 32,
                    "cacheStrategy": {"enabled": True, "ttlMinutes": 30, **strategy},
                }
            ],
            "globalCacheSettings": {"cacheDir": str(tmp_path / "cache")},
        }
    )


def call(
    cfg: Config,
    project: Path,
    prompt: str = "@big.py Explain it",
    *,
    system: str | None = None,
    stream: bool = False,
    seen: list[events.Event] | None = None,
) -> CallOutcome:
    target = resolve_target(cfg, "gem")
    ctx = build_context(context_request(prompt, project, cfg, project, target.endpoint))
    request = Request(prompt=prompt, context=ctx, system=system, cwd=project)
    head = [{"role": "system", "content": system}] if system else []
    messages = [*head, {"role": "user", "content": ctx.pack + SEPARATOR + ctx.prompt}]
    return complete(
        target,
        messages,
        stream=stream,
        request=request,
        project_root=project,
        on_event=(seen.append if seen is not None else events.ignore),
    )


def test_minimums_from_litellm_data_else_the_table() -> None:
    from ccw.exec.pricing import model_info

    bundled = (model_info("gemini/gemini-2.5-pro") or {}).get("prompt_cache_min_tokens")
    assert gemini_cache.minimum_tokens("gemini-2.5-pro") == int(bundled or 4096)
    assert gemini_cache.minimum_tokens("gemini/gemini-2.5-flash") == 1024
    assert gemini_cache.minimum_tokens("gemini-2.5-flash-lite-preview-09") == 2048
    assert gemini_cache.minimum_tokens("gemini-3-pro-preview-xyz") == 4096
    assert gemini_cache.minimum_tokens("some-new-model") == 4096  # the largest: never refused


@pytest.mark.parametrize("stream", [False, True])
def test_one_create_then_reuse_with_ttl_patch_and_no_list(
    gemini: GeminiServer, project: Path, tmp_path: Path, stream: bool
) -> None:
    cfg = config(gemini, tmp_path)
    first = call(cfg, project, system="Answer briefly.", stream=stream)
    created = gemini.creates()
    assert len(created) == 1
    body = created[0].body
    assert body["ttl"] == "1800s" and body["model"] == "models/gemini-2.5-flash"
    assert "def f():" in body["contents"][0]["parts"][0]["text"]
    assert body["systemInstruction"]["parts"][0]["text"] == "Answer briefly."
    assert created[0].headers["x-goog-api-key"] == KEY
    assert created[0].headers["x-team"] == HEADER
    cached = gemini.cached[next(iter(gemini.cached))]
    for _ in range(3):
        again = call(cfg, project, system="Answer briefly.", stream=stream)
        assert again.usage.cached_tokens == cached.tokens
        assert again.usage.cache_write_tokens == 0
    assert len(gemini.creates()) == 1
    assert len(gemini.patches()) == 3
    assert all("updateMask=ttl" in p.path for p in gemini.patches())
    assert gemini.list_calls == 0
    for sent in gemini.model_calls():
        assert sent.body["cachedContent"] == cached.name
        assert "def f():" not in str(sent.body["contents"])  # the pack went in the cache
        assert "systemInstruction" not in sent.body and "system_instruction" not in sent.body
        assert "Explain it" in str(sent.body["contents"])
    # The first call carries the create: its tokens are written once, then read.
    assert first.usage.cache_write_tokens == cached.tokens
    assert first.usage.cached_tokens == cached.tokens
    question = tokens("@big.py Explain it")  # the prompt keeps its words
    assert first.usage.prompt_tokens == cached.tokens + question + cached.tokens


def test_below_minimum_sends_the_pack_whole(
    gemini: GeminiServer, project: Path, tmp_path: Path
) -> None:
    cfg = config(gemini, tmp_path)
    outcome = call(cfg, project, "@small.py What is x?")
    assert gemini.creates() == [] and gemini.patches() == []
    (sent,) = gemini.model_calls()
    assert "cachedContent" not in sent.body
    assert "x = 1" in str(sent.body["contents"])
    assert outcome.usage.cached_tokens == 0
    assert not (tmp_path / "cache" / DB_NAME).exists()


def test_disabled_strategy_sends_none_of_it(
    gemini: GeminiServer, project: Path, tmp_path: Path
) -> None:
    cfg = config(gemini, tmp_path, enabled=False)
    call(cfg, project)
    call(cfg, project)
    assert gemini.creates() == [] and gemini.patches() == [] and gemini.list_calls == 0
    assert all("cachedContent" not in r.body for r in gemini.model_calls())


def test_implicit_cache_hits_are_read_below_the_explicit_path(
    gemini: GeminiServer, project: Path, tmp_path: Path
) -> None:
    """Without explicit caching a repeated prefix is still reported as cached."""
    cfg = config(gemini, tmp_path, enabled=False)
    call(cfg, project)
    second = call(cfg, project)
    assert second.usage.cached_tokens and second.usage.cached_tokens > 1024


def test_changed_pack_gets_a_new_cached_content_and_the_old_is_swept(
    gemini: GeminiServer, project: Path, tmp_path: Path
) -> None:
    cfg = config(gemini, tmp_path)
    call(cfg, project)
    (old,) = gemini.cached
    (project / "big.py").write_text("def g():\n    return 'another fairly long line'\n" * 150)
    call(cfg, project)
    assert len(gemini.creates()) == 2
    assert [r.path for r in gemini.deletes()] == [f"/v1beta/{old}"]
    assert old not in gemini.cached and len(gemini.cached) == 1


def test_clear_then_sweep_deletes_remotely_and_keeps_no_key(
    gemini: GeminiServer, project: Path, tmp_path: Path
) -> None:
    cfg = config(gemini, tmp_path)
    call(cfg, project)
    (name,) = gemini.cached
    db = tmp_path / "cache" / DB_NAME
    wal = db.with_name(DB_NAME + "-wal")
    raw = db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert KEY.encode() not in raw and HEADER.encode() not in raw
    assert gemini.base.encode() not in raw  # an API base may come from a ${VAR}: only its digest
    with sqlite3.connect(db) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(cached_contents)")]
    assert columns == [
        "pack_key", "provider_id", "base_digest", "model", "system_digest", "name", "expires",
        "tokens",
    ]  # fmt: skip
    open_cache(cfg, project).clear()
    swept = gemini_cache.sweep(cfg, project)
    assert swept.deleted == [name] and gemini.cached == {}
    assert GeminiCacheStore(tmp_path / "cache").rows() == []


def test_a_failed_delete_is_a_warning_and_is_tried_again(
    gemini: GeminiServer, project: Path, tmp_path: Path
) -> None:
    cfg = config(gemini, tmp_path)
    call(cfg, project)
    open_cache(cfg, project).clear()
    gemini.stop()
    swept = gemini_cache.sweep(cfg, project)
    assert swept.deleted == [] and len(swept.warnings) == 1
    assert "not deleted" in swept.warnings[0] and KEY not in swept.warnings[0]
    assert len(GeminiCacheStore(tmp_path / "cache").rows()) == 1


def test_expired_names_are_forgotten_without_a_request(
    gemini: GeminiServer, project: Path, tmp_path: Path
) -> None:
    cfg = config(gemini, tmp_path)
    store = GeminiCacheStore(tmp_path / "cache")
    slot = Slot("ctx-gone", "gg", gemini.base, "gemini-2.5-flash", "")
    store.save(Row(slot, "cachedContents/old", 1.0, 2000))
    swept = gemini_cache.sweep(cfg, project)
    assert swept.forgotten == 1 and swept.deleted == [] and gemini.requests == []
    assert store.rows() == []


def test_a_cached_content_gone_remotely_is_made_again(
    gemini: GeminiServer, project: Path, tmp_path: Path
) -> None:
    cfg = config(gemini, tmp_path)
    call(cfg, project)
    (name,) = gemini.cached
    del gemini.cached[name]  # deleted elsewhere (another tool, the console)
    outcome = call(cfg, project)
    assert len(gemini.creates()) == 2 and gemini.list_calls == 0
    assert outcome.usage.cache_write_tokens
    assert gemini.model_calls()[-1].body["cachedContent"] != name


def test_a_refused_create_sends_the_pack_whole(
    gemini: GeminiServer, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ccw's estimate says the pack is large enough, the provider counts fewer tokens."""
    monkeypatch.setitem(MINIMUMS, "gemini-2.5-flash", 100_000)
    cfg = config(gemini, tmp_path)
    seen: list[events.Event] = []
    outcome = call(cfg, project, seen=seen)
    assert outcome.text and len(gemini.creates()) == 1 and gemini.cached == {}
    (sent,) = gemini.model_calls()
    assert "cachedContent" not in sent.body and "def f():" in str(sent.body["contents"])
    assert any("minimum" in getattr(e, "text", "") for e in seen)


def test_a_provider_moved_to_another_base_sends_its_key_nowhere_old(
    gemini: GeminiServer, project: Path, tmp_path: Path
) -> None:
    cfg = config(gemini, tmp_path)
    call(cfg, project)
    open_cache(cfg, project).clear()
    with GeminiServer(key=KEY) as moved:
        data = cfg.model_dump(by_alias=True, exclude_none=True)
        data["providers"][0]["apiBase"] = moved.base
        swept = gemini_cache.sweep(Config.model_validate(data), project)
        assert moved.requests == []
    assert gemini.deletes() == [] and swept.deleted == []
    assert "another apiBase" in swept.warnings[0]
    assert GeminiCacheStore(tmp_path / "cache").rows() == []


def test_a_provider_with_several_keys_relies_on_implicit_caching(
    gemini: GeminiServer, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cached content belongs to the key that made it; the Router may pick another."""
    monkeypatch.setenv("TEST_GEMINI_KEY_2", KEY)
    data = config(gemini, tmp_path).model_dump(by_alias=True, exclude_none=True)
    data["providers"][0]["apiKeys"] = [
        {"id": "a", "key": "${TEST_GEMINI_KEY}"},
        {"id": "b", "key": "${TEST_GEMINI_KEY_2}"},
    ]
    cfg = Config.model_validate(data)
    call(cfg, project)
    assert gemini.creates() == []
    assert "def f():" in str(gemini.model_calls()[0].body["contents"])


def test_a_reuse_reads_no_local_cache_entries_when_nothing_else_is_kept(
    gemini: GeminiServer, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep on every call is a look at the names kept, not at the context cache."""
    cfg = config(gemini, tmp_path)
    call(cfg, project)

    def unexpected(*_: object) -> None:
        raise AssertionError("the local context cache was listed")

    monkeypatch.setattr(gemini_cache, "_live_packs", unexpected)
    call(cfg, project)
    assert len(gemini.patches()) == 1


def test_without_the_key_the_name_is_kept_for_a_later_sweep(
    gemini: GeminiServer, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = config(gemini, tmp_path)
    call(cfg, project)
    call(cfg, project, "@big.py @small.py Explain both")  # a second pack: two names
    open_cache(cfg, project).clear()
    monkeypatch.delenv("TEST_GEMINI_KEY")
    swept = gemini_cache.sweep(cfg, project)
    assert swept.deleted == [] and len(swept.warnings) == 1  # one warning for the provider
    assert "TEST_GEMINI_KEY" in swept.warnings[0] and gemini.deletes() == []
    monkeypatch.setenv("TEST_GEMINI_KEY", KEY)
    assert len(gemini_cache.sweep(cfg, project).deleted) == 2 and gemini.cached == {}
