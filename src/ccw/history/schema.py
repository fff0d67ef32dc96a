"""The history database file: its migrations, and how it is opened and moved aside.

Damage of any kind (SQLite reporting corruption, text that does not decode, a row that does
not read back as written) moves the file aside and starts a new one; the message saying so
is returned for the caller to show. A database that cannot be used just now (locked, disk
full, an I/O or permission error) is never taken for damaged (``ccw.sqlite``).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from ccw.history.spend_table import add_spend_days, add_spend_table
from ccw.sqlite import DamagedError, Migration, is_damage, open_database, run_script
from ccw.sqlite import move_aside as move_file_aside

__all__ = ["DamagedError", "connect", "is_damage", "move_aside", "stamp"]

BUSY_TIMEOUT_S = 10

_CALLS = """
CREATE TABLE IF NOT EXISTS calls (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    tool TEXT NOT NULL,
    endpoint_id TEXT,
    provider TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    mode TEXT NOT NULL DEFAULT '',
    cwd TEXT NOT NULL DEFAULT '',
    prompt TEXT NOT NULL,
    output TEXT NOT NULL DEFAULT '',
    messages TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cached_tokens INTEGER,
    cost REAL,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    success INTEGER NOT NULL,
    exit_code INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    error_kind TEXT,
    fix TEXT,
    cache_used INTEGER NOT NULL DEFAULT 0,
    cached_files TEXT NOT NULL DEFAULT '[]',
    warnings TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS calls_tool ON calls (tool, seq);
CREATE VIRTUAL TABLE IF NOT EXISTS calls_fts USING fts5 (
    prompt, output, content='calls', content_rowid='seq'
);
CREATE TRIGGER IF NOT EXISTS calls_fts_insert AFTER INSERT ON calls BEGIN
    INSERT INTO calls_fts (rowid, prompt, output) VALUES (new.seq, new.prompt, new.output);
END;
CREATE TRIGGER IF NOT EXISTS calls_fts_delete AFTER DELETE ON calls BEGIN
    INSERT INTO calls_fts (calls_fts, rowid, prompt, output)
    VALUES ('delete', old.seq, old.prompt, old.output);
END;
"""

# The project of each call (the folder ``ccw.paths.find_project_root`` gives for its cwd)
# and the length of an answer the history kept only the start of.
_PROJECTS = """
ALTER TABLE calls ADD COLUMN project TEXT;
ALTER TABLE calls ADD COLUMN output_chars INTEGER;
CREATE INDEX IF NOT EXISTS calls_project ON calls (project, seq);
"""


# Conversations: the call a call continued (``--resume``, ``ccw chat``) and the conversation
# it belongs to (the id of its first call); why the model stopped. An older call is a
# conversation of its own.
_CONVERSATIONS = """
ALTER TABLE calls ADD COLUMN parent_id TEXT;
ALTER TABLE calls ADD COLUMN conversation_id TEXT;
ALTER TABLE calls ADD COLUMN finish_reason TEXT;
UPDATE calls SET conversation_id = id;
CREATE INDEX IF NOT EXISTS calls_conversation ON calls (conversation_id, seq);
"""


# Which deployment answered (``provider/key-id`` of a multi-key provider or a pool, never the
# key) and the endpoints the call fell back from, as a JSON list.
_DEPLOYMENTS = """
ALTER TABLE calls ADD COLUMN deployment TEXT;
ALTER TABLE calls ADD COLUMN fallback_from TEXT;
"""


# The ledger: the rest of each call's usage and price (see ``ccw.result``), and the pack it
# sent. ``calls_ledger`` covered every column a cost report read (the running sums of
# ``ccw.history.spend_table`` replace it); ``calls_pack`` finds the last call that sent a
# pack to an endpoint.
_LEDGER = """
ALTER TABLE calls ADD COLUMN cache_write_tokens INTEGER;
ALTER TABLE calls ADD COLUMN cache_write_ttl TEXT;
ALTER TABLE calls ADD COLUMN cost_uncached REAL;
ALTER TABLE calls ADD COLUMN cost_source TEXT;
ALTER TABLE calls ADD COLUMN cache_miss TEXT;
ALTER TABLE calls ADD COLUMN pack_key TEXT;
CREATE INDEX IF NOT EXISTS calls_ledger ON calls (
    created_at, endpoint_id, project, model, tool, success, prompt_tokens, cached_tokens,
    cache_write_tokens, completion_tokens, cost, cost_uncached
);
CREATE INDEX IF NOT EXISTS calls_pack ON calls (pack_key, endpoint_id, seq);
"""


def _create_calls(db: sqlite3.Connection) -> None:
    run_script(db, _CALLS)


def _add_projects(db: sqlite3.Connection) -> None:
    """Add the project column, filled from each old call's cwd."""
    from ccw.paths import find_project_root

    run_script(db, _PROJECTS)
    cwds = [row[0] for row in db.execute("SELECT DISTINCT cwd FROM calls WHERE cwd != ''")]
    db.executemany(
        "UPDATE calls SET project = ? WHERE cwd = ?",
        [(str(find_project_root(Path(cwd))), cwd) for cwd in cwds],
    )


def _add_conversations(db: sqlite3.Connection) -> None:
    run_script(db, _CONVERSATIONS)


def _add_deployments(db: sqlite3.Connection) -> None:
    run_script(db, _DEPLOYMENTS)


def _add_ledger(db: sqlite3.Connection) -> None:
    run_script(db, _LEDGER)


# In order; the first two are schemas 1 and 2 of the ``PRAGMA user_version`` days.
MIGRATIONS = (
    Migration("create calls and their full-text index", _create_calls),
    Migration("calls know their project and answer length", _add_projects),
    Migration("calls know their conversation, parent and finish reason", _add_conversations),
    Migration("calls know the deployment that answered and their fallbacks", _add_deployments),
    Migration("calls carry the ledger: cache writes, uncached cost, pricing, pack", _add_ledger),
    Migration("the ledger's sums per quarter hour, kept by triggers", add_spend_table),
    Migration("the ledger's sums per day, kept by triggers", add_spend_days),
)


def stamp(moment: datetime) -> str:
    """A time as the history stores it: UTC, milliseconds, ``Z`` (so text order is time
    order). A naive time is taken as local."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def connect(path: Path, warnings: list[str]) -> sqlite3.Connection:
    """Open (creating if needed, readable by the user only) and migrate the database; a
    damaged file is moved aside, a new one made, and ``warnings`` told."""
    try:
        return _connect(path)
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        if not is_damage(exc):
            raise
    move_aside(path, warnings)
    return _connect(path)


def move_aside(path: Path, warnings: list[str]) -> None:
    """Rename a damaged database (and its WAL files) to ``<name>.corrupt-<timestamp>``, and
    add a warning saying so to ``warnings`` (none when another process moved it first)."""
    moved_at = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{moved_at}")
    n = 2
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{moved_at}-{n}")
        n += 1
    if move_file_aside(path, target):
        warnings.append(
            f"the history database {path} was damaged; moved it to {target.name} "
            "and started a new one"
        )


def _connect(path: Path) -> sqlite3.Connection:
    db = open_database(path, MIGRATIONS, busy_timeout_s=BUSY_TIMEOUT_S, check_same_thread=False)
    db.row_factory = sqlite3.Row
    return db
