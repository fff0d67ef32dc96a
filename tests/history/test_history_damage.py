"""A damaged or full history database: moved aside once and replaced, never a traceback;
calls recorded per project; long answers kept in part."""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from pathlib import Path

import pytest

from ccw.history import History
from ccw.history.store import MAX_OUTPUT_CHARS
from ccw.result import ExecutionResult
from tests.conftest import RunCcw
from tests.history.old_schemas import drop_ledger

SEED = 20261201
FLIPS = 150


def result(output: str = "Paris.", **extra: object) -> ExecutionResult:
    values: dict[str, object] = {
        "success": True,
        "output": output,
        "model": "gpt-4o",
        "provider": "oai",
        "endpoint_id": "gpt",
        "cached_files": ["src/a.py"],
        "warnings": ["a warning"],
        **extra,
    }
    return ExecutionResult(**values)  # type: ignore[arg-type]


def seed(path: Path, cwd: Path) -> list[str]:
    with History(path) as history:
        ids = [
            history.record(
                result(f"answer {n} " * 40),
                prompt=f"question {n} " * 40,
                messages=[{"role": "user", "content": f"question {n}"}],
                cwd=str(cwd),
            )
            for n in range(6)
        ]
    assert all(ids)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return [i for i in ids if i]


def restore(folder: Path, image: bytes, rng: random.Random, flips: int = 1) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    data = bytearray(image)
    for _ in range(flips):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    path = folder / "history.db"
    path.write_bytes(bytes(data))
    return path


def test_byte_flips_are_recovered_from(
    tmp_path: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    ids = seed(folder / "history.db", project)
    image = (folder / "history.db").read_bytes()
    rng = random.Random(SEED)
    moved = unseen = 0
    for _ in range(FLIPS):
        path = restore(folder, image, rng)
        warnings: list[str] = []
        with History(path) as history:
            listed = history.list(limit=50)
            for call in listed:
                history.get(call["id"])
            history.get(ids[0])
            new = history.record(result(), prompt="after the flip", cwd=str(project))
        warnings += history.warnings
        assert new is not None
        # The next process finds the new call. (A flip inside an index page that SQLite
        # does not notice can hide rows from a lookup or a filtered list, or be noticed only
        # by the next process, which then starts afresh: only an integrity check, too slow
        # for every call, would find that at once.)
        with History(path) as history:
            found = history.get(new) is not None
            listed_ids = [c["id"] for c in history.list(limit=50, project=str(project))]
            unseen += not found or new not in listed_ids
        warnings += history.warnings
        err = "\n".join(warnings)
        assert capsys.readouterr().err == ""  # the library itself writes nothing
        assert "not recorded" not in err
        # Damage found by either process is moved aside once, never again.
        assert err.count("was damaged") <= 1
        moved += err.count("was damaged")
    assert 0 < moved < FLIPS
    assert unseen < FLIPS // 20, unseen


def test_the_cli_and_the_api_survive_a_damaged_history(
    run_ccw: RunCcw, project: Path, ccw_env: dict[str, str]
) -> None:
    folder = Path(ccw_env["CCW_DATA_DIR"])
    folder.mkdir(parents=True)
    ids = seed(folder / "history.db", project)
    image = (folder / "history.db").read_bytes()
    rng = random.Random(SEED)
    for _ in range(2):
        restore(folder, image, rng, flips=60)
        for args in (("cli", "history"), ("cli", "detail", ids[-1]), ("cli", "history", "-a")):
            done = run_ccw(*args)
            assert "Traceback" not in done.stderr, (args, done.stderr)
            assert done.returncode in (0, 4), (args, done.stderr)


def test_undecodable_text_is_damage(
    tmp_path: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "history.db"
    ids = seed(path, project)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE calls SET warnings = CAST(X'5bff5d' AS TEXT) WHERE id = ?", (ids[0],))
        conn.execute("UPDATE calls SET created_at = 'not a time' WHERE id = ?", (ids[1],))
    with History(path) as history:
        assert history.list() == []
        assert history.record(result(), prompt="p", cwd=str(project)) is not None
        assert len(history.list()) == 1
    assert "\n".join(history.warnings).count("was damaged") == 1
    assert capsys.readouterr().err == ""


class FullHistory(History):
    """A history whose database may not grow: every write past its size is SQLITE_FULL."""

    def _connection(self) -> sqlite3.Connection:
        db = super()._connection()
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")
        return db


def test_a_full_database_is_not_taken_for_damage(
    tmp_path: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "history.db"
    seed(path, project)
    with FullHistory(path) as history:
        assert history.record(result("x" * 200_000), prompt="big", cwd=str(project)) is None
        assert len(history.list()) == 6
    err = "\n".join(history.warnings)
    assert capsys.readouterr().err == ""
    assert "not recorded" in err and "full" in err
    assert "damaged" not in err
    assert not list(tmp_path.glob("history.db.corrupt*"))


def test_calls_are_listed_per_project(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        (folder / ".ccw").mkdir(parents=True)
    (one / "src").mkdir()
    with History(tmp_path / "history.db") as history:
        first = history.record(result(), prompt="in one", cwd=str(one / "src"))
        second = history.record(result(), prompt="in two", cwd=str(two))
        assert [c["id"] for c in history.list(project=str(one))] == [first]
        assert [c["id"] for c in history.list(project=str(two))] == [second]
        assert [c["id"] for c in history.list()] == [second, first]
        assert history.list()[0]["project"] == str(two.resolve())


def test_a_version_1_history_is_migrated_with_projects(tmp_path: Path) -> None:
    one = tmp_path / "one"
    (one / ".ccw").mkdir(parents=True)
    path = tmp_path / "history.db"
    with History(path) as history:
        old = history.record(result(), prompt="old", cwd=str(one))
    with sqlite3.connect(path) as conn:
        drop_ledger(conn)
        for column in ("deployment", "fallback_from"):  # as in every migration since
            conn.execute(f"ALTER TABLE calls DROP COLUMN {column}")
        _drop_conversations(conn)
        conn.execute("DROP INDEX calls_project")
        conn.execute("ALTER TABLE calls DROP COLUMN project")
        conn.execute("ALTER TABLE calls DROP COLUMN output_chars")
        conn.execute("DROP TABLE ccw_migrations")  # as ccw made it before named migrations
        conn.execute("PRAGMA user_version = 1")
    with History(path) as history:
        assert [c["id"] for c in history.list(project=str(one))] == [old]
        record = history.get(old)
        assert record is not None and record["outputTruncated"] is False
        assert (record["conversationId"], record["parentId"]) == (old, None)


def _drop_conversations(conn: sqlite3.Connection) -> None:
    """Undo the conversations migration, as a database from before it was."""
    conn.execute("DROP INDEX calls_conversation")
    for column in ("parent_id", "conversation_id", "finish_reason"):
        conn.execute(f"ALTER TABLE calls DROP COLUMN {column}")
    conn.execute(
        "DELETE FROM ccw_migrations WHERE name = ?",
        ("calls know their conversation, parent and finish reason",),
    )


def test_a_history_from_before_conversations_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    with History(path) as history:
        first = history.record(result(), prompt="one")
        second = history.record(result(), prompt="two")
    with sqlite3.connect(path) as conn:
        _drop_conversations(conn)
    with History(path) as history:
        assert first is not None and second is not None
        assert [c["id"] for c in history.conversation(first)] == [first]
        third = history.record(result(), prompt="three", parent_id=second)
        assert third is not None
        assert [c["id"] for c in history.conversation(third)] == [second, third]
        assert [c["id"] for c in history.conversation(second)] == [second, third]


def test_a_huge_answer_is_kept_in_part(
    run_ccw: RunCcw, project: Path, ccw_env: dict[str, str]
) -> None:
    path = Path(ccw_env["CCW_DATA_DIR"]) / "history.db"
    huge = "y" * (3 * MAX_OUTPUT_CHARS)
    with History(path) as history:
        call_id = history.record(result(huge), prompt="big", cwd=str(project))
        assert call_id is not None
        record = history.get(call_id)
    assert record is not None
    assert record["output"].startswith("y" * MAX_OUTPUT_CHARS)
    assert len(record["output"]) < MAX_OUTPUT_CHARS + 200
    assert f"{2 * MAX_OUTPUT_CHARS} more characters" in record["output"]
    assert (record["outputChars"], record["outputTruncated"]) == (3 * MAX_OUTPUT_CHARS, True)
    assert path.stat().st_size < 3 * MAX_OUTPUT_CHARS
    done = run_ccw("cli", "detail", call_id)
    assert done.returncode == 0, done.stderr
    assert f"{3 * MAX_OUTPUT_CHARS} characters; the history keeps the first" in done.stdout


def test_cli_history_lists_this_project_unless_all_projects(
    run_ccw: RunCcw, project: Path, tmp_path: Path, ccw_env: dict[str, str]
) -> None:
    other = tmp_path / "other"
    (other / ".ccw").mkdir(parents=True)
    path = Path(ccw_env["CCW_DATA_DIR"]) / "history.db"
    with History(path) as history:
        mine = history.record(result(), prompt="mine", cwd=str(project))
        theirs = history.record(result(), prompt="theirs", cwd=str(other))
    here = run_ccw("cli", "history", "--json")
    assert [c["id"] for c in json.loads(here.stdout)["calls"]] == [mine]
    every = run_ccw("cli", "history", "--all-projects", "--json")
    assert [c["id"] for c in json.loads(every.stdout)["calls"]] == [theirs, mine]
    there = run_ccw("cli", "history", "--json", cwd=other)
    assert [c["id"] for c in json.loads(there.stdout)["calls"]] == [theirs]


def test_a_history_from_before_deployments_is_migrated_and_records_them(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    with History(path) as history:
        old = history.record(result(), prompt="old")
    with sqlite3.connect(path) as conn:
        for column in ("deployment", "fallback_from"):
            conn.execute(f"ALTER TABLE calls DROP COLUMN {column}")
        conn.execute(
            "DELETE FROM ccw_migrations WHERE name = ?",
            ("calls know the deployment that answered and their fallbacks",),
        )
    routed = result()
    routed.deployment, routed.fallback_from = "pool/key-2", ["first"]
    with History(path) as history:
        assert history.warnings == []
        record = history.get(old)
        assert record is not None and (record["deployment"], record["fallbackFrom"]) == (None, None)
        new = history.record(routed, prompt="new")
        again = history.get(new or "")
        assert again is not None
        assert (again["deployment"], again["fallbackFrom"]) == ("pool/key-2", ["first"])
