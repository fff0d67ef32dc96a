"""The config file's edge cases: duplicate keys, a byte-order mark, a symlinked file, temporary
copies left by a killed save, a lock held too long, and values the file system refuses."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from filelock import FileLock

from ccw.config import manage
from ccw.config import store as store_module
from ccw.config.store import ConfigStore
from ccw.errors import BusyError, UsageError
from ccw.server.app import error_status
from tests.config.conftest import SECRET, ok, ok_json, read_json, user_error, write_json
from tests.conftest import RunCcw

ADD = ("provider", "add", "--type", "openai", "--id", "added", "--api-key", "${OPENAI_API_KEY}")


def test_duplicate_key_is_refused_and_the_file_kept(run_ccw: RunCcw, config_file: Path) -> None:
    config_file.parent.mkdir(parents=True)
    text = (
        '{"providers": [{"id": "first", "type": "openai"}],\n'
        ' "providers": [{"id": "second", "type": "openai"}]}\n'
    )
    config_file.write_text(text, encoding="utf-8")

    for args in (("provider", "list"), ADD):
        done = run_ccw(*args)
        assert done.returncode == 3, done.stderr
        user_error(done, "'providers' twice")
    assert config_file.read_text(encoding="utf-8") == text


def test_duplicate_key_inside_a_provider_is_refused(run_ccw: RunCcw, config_file: Path) -> None:
    config_file.parent.mkdir(parents=True)
    config_file.write_text(
        '{"providers": [{"id": "p", "type": "openai", "apiKey": "a", "apiKey": "b"}]}',
        encoding="utf-8",
    )
    done = run_ccw("provider", "list")
    assert done.returncode == 3
    user_error(done, "'apiKey' twice")


def test_byte_order_mark_is_accepted(run_ccw: RunCcw, config_file: Path) -> None:
    config_file.parent.mkdir(parents=True)
    body = json.dumps({"providers": [{"id": "bom", "type": "openai"}]})
    config_file.write_bytes(b"\xef\xbb\xbf" + body.encode())
    listed = ok_json(run_ccw("provider", "list", "--json"))
    assert "bom" in [p["id"] for p in listed["providers"]]
    ok(run_ccw(*ADD))
    assert {p["id"] for p in read_json(config_file)["providers"]} == {"bom", "added"}


def test_symlinked_config_is_written_through(
    run_ccw: RunCcw, config_file: Path, tmp_path: Path
) -> None:
    real = tmp_path / "dotfiles" / "ccw.json"
    write_json(real, {"providers": []})
    config_file.parent.mkdir(parents=True)
    config_file.symlink_to(real)

    ok(run_ccw(*ADD))

    assert config_file.is_symlink()
    assert [p["id"] for p in read_json(real)["providers"]] == ["added"]


def test_orphaned_temporary_copies_are_removed_on_the_next_save(
    run_ccw: RunCcw, config_file: Path
) -> None:
    write_json(config_file, {"providers": [{"id": "lit", "type": "openai", "apiKey": SECRET}]})
    orphans = [config_file.parent / f".litellm-api-config.{tag}.tmp" for tag in ("a1b2", "zz")]
    for orphan in orphans:
        orphan.write_text(config_file.read_text())
        orphan.chmod(0o600)
    other = config_file.parent / "notes.tmp"
    other.write_text("kept")

    ok(run_ccw(*ADD))

    assert [path for path in orphans if path.exists()] == []
    assert other.exists()
    leftovers = [p.name for p in config_file.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == ["notes.tmp"]


def test_lock_timeout_is_busy_with_retry_after(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "LOCK_TIMEOUT_S", 0.05)
    store = ConfigStore(config_file)
    config_file.parent.mkdir(parents=True)
    with FileLock(str(store.lock_path)), pytest.raises(BusyError) as caught:
        manage.add_provider(store, {"id": "p", "type": "openai"})
    assert caught.value.kind == "busy" and error_status(caught.value) == 503
    assert isinstance(caught.value.retry_after, int) and caught.value.retry_after > 0
    assert caught.value.fix is not None and str(store.lock_path) in caught.value.fix
    assert not config_file.exists()


def test_ids_have_a_maximum_length(run_ccw: RunCcw) -> None:
    long_id = "p" * 129
    done = run_ccw("provider", "add", "--type", "openai", "--id", long_id)
    assert done.returncode == 2
    user_error(done, "at most 128")
    ok(run_ccw("provider", "add", "--type", "openai", "--id", "p" * 128))
    done = run_ccw("endpoint", "add", "e" * 129, "--provider", "p" * 128, "--model", "m")
    assert done.returncode == 2
    user_error(done, "at most 128")


@pytest.mark.parametrize(
    "value",
    ["/dev/null", "/dev/null/below", "nul\0here", "x" * 5000, "a/" + "n" * 300, "$HOME/c"],
)
def test_unusable_cache_dir_is_refused(config_file: Path, value: str) -> None:
    store = ConfigStore(config_file)
    with pytest.raises(UsageError) as caught:
        manage.update_cache_settings(store, {"cacheDir": value})
    assert "cacheDir" in str(caught.value)
    assert not config_file.exists()


def test_cache_dir_that_is_an_existing_file_is_refused(config_file: Path, tmp_path: Path) -> None:
    existing = tmp_path / "a-file"
    existing.write_text("x")
    with pytest.raises(UsageError, match="not a folder"):
        manage.update_cache_settings(ConfigStore(config_file), {"cacheDir": str(existing)})
    manage.update_cache_settings(ConfigStore(config_file), {"cacheDir": str(tmp_path / "c")})
    assert read_json(config_file)["globalCacheSettings"]["cacheDir"] == str(tmp_path / "c")


def test_cache_dir_never_expands_environment_variables(
    run_ccw: RunCcw, config_file: Path, tmp_path: Path
) -> None:
    value = str(tmp_path / "cache" / "$CCW_CANARY_KEY")
    write_json(config_file, {"globalCacheSettings": {"cacheDir": value}})
    env = {"CCW_CANARY_KEY": SECRET, "OPENAI_API_KEY": SECRET}
    for args in (("cache", "stats"), ("cache", "stats", "--json"), ("config", "show")):
        done = ok(run_ccw(*args, env=env))
        assert SECRET not in done.stdout + done.stderr
    assert ok_json(run_ccw("cache", "stats", "--json", env=env))["cacheDir"] == value
    on_disk = [str(path) for path in tmp_path.rglob("*")]
    assert not any(SECRET in path for path in on_disk)
    assert os.environ.get("CCW_CANARY_KEY") is None
