"""The cachedContents client and the file of names: credentials only to the provider's own
origin, errors without them, expiry times as the API writes them, a damaged file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ccw.exec.gemini_api import CachedContents, GeminiApiError, _expiry
from ccw.exec.gemini_store import DB_NAME, GeminiCacheStore, Row, Slot
from tests.fakes.gemini_server import GeminiServer

KEY = "AIza-api-test-key-ABCDEFGH12345"
HEADER = "header-secret-0123456789"


@pytest.fixture
def gemini() -> Iterator[GeminiServer]:
    with GeminiServer(key=KEY) as srv:
        yield srv


def client(srv: GeminiServer, key: str = KEY) -> CachedContents:
    return CachedContents(srv.base, key, {"X-Team": HEADER}, {}, 5.0)


def test_create_extend_delete(gemini: GeminiServer) -> None:
    api = client(gemini)
    created = api.create("gemini-2.5-flash", "word " * 2000, "be brief", 600, "ccw ctx-1")
    assert created.name in gemini.cached and created.tokens == gemini.cached[created.name].tokens
    before = gemini.cached[created.name].expire
    assert abs(created.expires - before) < 1
    later = api.extend(created.name, 3600)
    assert later > created.expires + 2000
    api.delete(created.name)
    assert gemini.cached == {}
    assert {r.headers["x-goog-api-key"] for r in gemini.requests} == {KEY}
    assert {r.headers["x-team"] for r in gemini.requests} == {HEADER}
    assert gemini.list_calls == 0


def test_a_redirect_to_another_origin_is_not_followed(gemini: GeminiServer) -> None:
    with GeminiServer() as elsewhere:
        gemini.redirect_next(elsewhere.url)
        with pytest.raises(GeminiApiError) as raised:
            client(gemini).create("gemini-2.5-flash", "word " * 2000, "", 600, "x")
        assert elsewhere.requests == []
    assert KEY not in raised.value.message


def test_errors_name_the_status_and_never_the_key(gemini: GeminiServer) -> None:
    with pytest.raises(GeminiApiError) as raised:
        client(gemini, key="AIza-wrong-key-0000000000").delete("cachedContents/abc")
    assert raised.value.status == 403 and raised.value.gone
    assert "AIza-wrong" not in raised.value.message
    with pytest.raises(GeminiApiError) as small:
        client(gemini).create("gemini-2.5-flash", "tiny", "", 600, "x")
    assert small.value.too_small and "min_total_token_count=1024" in small.value.message


def test_only_cached_content_names_are_requested(gemini: GeminiServer) -> None:
    with pytest.raises(GeminiApiError):
        client(gemini).delete("../models/gemini-2.5-flash")
    assert gemini.requests == []


def test_an_unreachable_provider_is_an_error_naming_its_origin(tmp_path: Path) -> None:
    from tests.fakes.ports import free_port

    api = CachedContents(f"http://127.0.0.1:{free_port()}/v1beta", KEY, {}, {}, 2.0)
    with pytest.raises(GeminiApiError) as raised:
        api.delete("cachedContents/abc")
    assert "no answer from http://127.0.0.1:" in raised.value.message
    assert raised.value.status is None and not raised.value.gone


def test_expiry_times_up_to_nanoseconds() -> None:
    assert _expiry({"expireTime": "2026-01-01T00:00:00Z"}) == 1767225600.0
    assert _expiry({"expireTime": "2026-01-01T00:00:00.123456789Z"}) == pytest.approx(
        1767225600.123456
    )
    assert _expiry({"expireTime": "2026-01-01T01:00:00+01:00"}) == 1767225600.0
    with pytest.raises(GeminiApiError):
        _expiry({"expireTime": "tomorrow"})


def test_a_damaged_file_of_names_is_moved_aside(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / DB_NAME).write_bytes(b"not a database at all" * 100)
    store = GeminiCacheStore(folder)
    slot = Slot("ctx-1", "gg", "http://x/v1beta", "gemini-2.5-flash", "")
    assert store.find(slot) is None
    assert (folder / (DB_NAME + ".corrupt")).exists() and len(store.warnings) == 1
    store.save(Row(slot, "cachedContents/a", 10.0, 5))
    assert store.rows() == [Row(slot, "cachedContents/a", 10.0, 5)]
