"""``History``: every call, LiteLLM or tool, with its prompt, answer, usage, cost and outcome.

Recording never fails the call it records: any error becomes a warning. Nothing here writes
to the terminal: warnings collect in ``History.warnings`` for the caller to show.
Reading is what ``ccw cli history``, ``ccw cli detail`` and ``--resume`` use.

Each call records its project (the folder ``find_project_root`` gives for its cwd), so that
one project's views can list its own calls. Of an answer the history keeps the first
``MAX_OUTPUT_CHARS`` characters and a marker saying how many were cut.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ccw.errors import CcwError, NotFoundError, UsageError
from ccw.history.schema import DamagedError, connect, is_damage, move_aside, stamp
from ccw.result import ExecutionResult, Usage

if TYPE_CHECKING:
    from ccw.history.ledger import CostReport

LITELLM = "litellm"
STATUSES = ("ok", "error")
PREVIEW_CHARS = 120
# 1 MiB of characters: a long answer in full, not a runaway one.
MAX_OUTPUT_CHARS = 1 << 20

Clock = Callable[[], datetime]
Messages = list[dict[str, Any]]
Calls = list[dict[str, Any]]  # ``History.list`` shadows ``list`` inside the class
T = TypeVar("T")

_LIST_COLUMNS = (
    "id, created_at, tool, endpoint_id, provider, model, mode, prompt, prompt_tokens, "
    "completion_tokens, cached_tokens, cost, duration_ms, success, exit_code, error, "
    "error_kind, cache_used, project, parent_id, conversation_id, finish_reason, "
    "deployment, fallback_from, cache_write_tokens, cache_write_ttl, cost_uncached, "
    "cost_source, cache_miss, pack_key"
)
_OPTIONAL_TEXT = (str, type(None))
_OPTIONAL_INT = (int, type(None))
# What each column must read back as; anything else is a damaged row.
_KINDS: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "created_at": str,
    "tool": str,
    "endpoint_id": _OPTIONAL_TEXT,
    "provider": str,
    "model": str,
    "mode": str,
    "prompt": str,
    "prompt_tokens": _OPTIONAL_INT,
    "completion_tokens": _OPTIONAL_INT,
    "cached_tokens": _OPTIONAL_INT,
    "cost": (int, float, type(None)),
    "duration_ms": int,
    "success": int,
    "exit_code": int,
    "error": _OPTIONAL_TEXT,
    "error_kind": _OPTIONAL_TEXT,
    "cache_used": int,
    "project": _OPTIONAL_TEXT,
    "parent_id": _OPTIONAL_TEXT,
    "conversation_id": _OPTIONAL_TEXT,
    "finish_reason": _OPTIONAL_TEXT,
    "deployment": _OPTIONAL_TEXT,
    "fallback_from": _OPTIONAL_TEXT,
    "cwd": str,
    "output": str,
    "messages": _OPTIONAL_TEXT,
    "fix": _OPTIONAL_TEXT,
    "cached_files": str,
    "warnings": str,
    "output_chars": _OPTIONAL_INT,
    "cache_write_tokens": _OPTIONAL_INT,
    "cache_write_ttl": _OPTIONAL_TEXT,
    "cost_uncached": (int, float, type(None)),
    "cost_source": _OPTIONAL_TEXT,
    "cache_miss": _OPTIONAL_TEXT,
    "pack_key": _OPTIONAL_TEXT,
}


@dataclass(frozen=True)
class Resumed:
    """A call to continue: its id, its conversation, its endpoint and the turns to resend."""

    call_id: str
    conversation_id: str
    endpoint_id: str | None
    turns: Messages


class HistoryUnavailableError(CcwError):
    """The history database cannot be opened (permissions, disk, a locked file)."""

    kind = "history_unavailable"


def _now() -> datetime:
    return datetime.now(UTC)


class History:
    """One history database. The file is opened on first use, so creating this never fails.

    ``warnings`` collects what the caller should show (a damaged file moved aside, a call
    not recorded, a name already taken), each once, in order."""

    def __init__(self, path: Path, clock: Clock = _now) -> None:
        self.path = path
        self.warnings: list[str] = []
        self._clock = clock
        self._db: sqlite3.Connection | None = None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------

    def record(
        self,
        result: ExecutionResult,
        *,
        prompt: str,
        messages: Messages | None = None,
        cwd: str = "",
        call_id: str | None = None,
        parent_id: str | None = None,
    ) -> str | None:
        """Store one call and return its id; on any failure add a warning and return None.

        ``call_id`` names the call (``--id``); a name already taken gets ``-2``, ``-3``...
        and a warning. Without it the id is ``call-<UTC time>-<random>``, sortable by time.
        The call's project is the one around ``cwd``. ``parent_id`` is the call it continues:
        it joins that call's conversation (else it starts its own, named by its id). The
        result's ``id``, ``parent_id`` and ``conversation_id`` are set as recorded.
        """
        try:
            return self._with_recovery(
                lambda db: self._insert(db, result, prompt, messages, cwd, call_id, parent_id)
            )
        except Exception as exc:
            self.warnings.append(f"this call was not recorded in the history: {exc}")
            return None

    def _insert(
        self,
        db: sqlite3.Connection,
        result: ExecutionResult,
        prompt: str,
        messages: Messages | None,
        cwd: str,
        call_id: str | None,
        parent_id: str | None,
    ) -> str:
        now = self._clock()
        wanted = (call_id or "").strip()
        conversation = None
        if parent_id is not None:
            found = db.execute(
                "SELECT conversation_id FROM calls WHERE id = ?", (parent_id,)
            ).fetchone()
            conversation = (found[0] if found is not None else None) or parent_id
        row = {
            "created_at": stamp(now),
            "tool": result.tool,
            "endpoint_id": result.endpoint_id,
            "provider": result.provider,
            "model": result.model,
            "mode": result.mode,
            "cwd": cwd,
            "project": _project_of(cwd),
            "prompt": prompt,
            "output": _kept(result.output),
            "output_chars": len(result.output) if len(result.output) > MAX_OUTPUT_CHARS else None,
            "messages": json.dumps(messages, ensure_ascii=False) if messages is not None else None,
            "prompt_tokens": result.usage.prompt_tokens,
            "completion_tokens": result.usage.completion_tokens,
            "cached_tokens": result.usage.cached_tokens,
            "cache_write_tokens": result.usage.cache_write_tokens,
            "cache_write_ttl": result.usage.cache_write_ttl,
            "cost": result.cost,
            "cost_uncached": result.cost_uncached,
            "cost_source": result.cost_source,
            "cache_miss": result.cache_miss,
            "pack_key": result.pack_key,
            "duration_ms": result.duration_ms,
            "success": int(result.success),
            "exit_code": result.exit_code,
            "error": result.error,
            "error_kind": result.error_kind,
            "fix": result.fix,
            "cache_used": int(result.cache_used),
            "cached_files": json.dumps(list(result.cached_files), ensure_ascii=False),
            "warnings": json.dumps(list(result.warnings), ensure_ascii=False),
            "parent_id": parent_id,
            "finish_reason": result.finish_reason,
            "deployment": result.deployment,
            "fallback_from": json.dumps(result.fallback_from) if result.fallback_from else None,
        }
        columns = ", ".join(["id", "conversation_id", *row])
        marks = ", ".join(["?"] * (len(row) + 2))
        sql = f"INSERT INTO calls ({columns}) VALUES ({marks})"
        for attempt in range(1, 1000):
            if wanted:
                candidate = wanted if attempt == 1 else f"{wanted}-{attempt}"
            else:
                candidate = _generated_id(now)
            try:
                db.execute(sql, [candidate, conversation or candidate, *row.values()])
            except sqlite3.IntegrityError:
                continue
            result.id, result.parent_id = candidate, parent_id
            result.conversation_id = conversation or candidate
            if wanted and candidate != wanted:
                self.warnings.append(
                    f"a call named {wanted} is already in the history; this one is {candidate}"
                )
            return candidate
        raise UsageError(f"no free history id for {wanted or 'this call'}")

    # -- reading ---------------------------------------------------------------------------

    def list(
        self,
        *,
        limit: int = 20,
        tool: str | None = None,
        status: str | None = None,
        search: str | None = None,
        project: str | None = None,
    ) -> list[dict[str, Any]]:
        """The latest calls first, without their full prompt, output or messages.

        ``search`` is full-text over prompt and output: every word must occur, each word
        also matching longer words it starts (``auth`` finds ``authentication``).
        ``project`` (a project root) keeps that project's calls only.
        """
        if limit < 1:
            raise UsageError(f"--limit must be at least 1, not {limit}")
        if status is not None and status not in STATUSES:
            raise UsageError(f"unknown --status {status!r}", "use ok or error")
        where: list[str] = []
        params: list[Any] = []
        if tool:
            where.append("tool = ?")
            params.append(tool)
        if status is not None:
            where.append("success = ?")
            params.append(int(status == "ok"))
        if project is not None:
            where.append("project = ?")
            params.append(str(Path(project).resolve()))
        query = _fts_query(search or "")
        if query:
            where.append("seq IN (SELECT rowid FROM calls_fts WHERE calls_fts MATCH ?)")
            params.append(query)
        sql = f"SELECT {_LIST_COLUMNS} FROM calls"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq DESC LIMIT ?"
        params.append(limit)
        return self._read(lambda db: [_summary(row) for row in db.execute(sql, params)])

    def get(self, call_id: str) -> dict[str, Any] | None:
        """The full record of one call (camelCase keys), or None."""

        def read(db: sqlite3.Connection) -> dict[str, Any] | None:
            row = db.execute("SELECT * FROM calls WHERE id = ?", (call_id,)).fetchone()
            return _full(row) if row is not None else None

        return self._read(read)

    def resume_point(self, call_id: str | None = None, project: str | None = None) -> Resumed:
        """What continuing a LiteLLM call takes: its conversation, its endpoint, and the
        messages it sent plus its answer.

        ``None`` means the latest successful LiteLLM call (of ``project``, a project root,
        when given).
        """
        if call_id is None:
            where, params = "tool = ? AND success = 1", [LITELLM]
            if project is not None:
                where += " AND project = ?"
                params.append(str(Path(project).resolve()))
            sql = f"SELECT id FROM calls WHERE {where} ORDER BY seq DESC LIMIT 1"
            row = self._read(lambda db: db.execute(sql, params).fetchone())
            if row is None:
                scope = " of this project" if project is not None else ""
                raise NotFoundError(
                    f"there is no successful LiteLLM call{scope} in the history to resume",
                    "make one first, or pick a call: ccw cli history --all-projects",
                )
            call_id = str(row["id"])
        record = self.get(call_id)
        if record is None:
            raise NotFoundError(f"no call {call_id!r} in the history", "list them: ccw cli history")
        if record["tool"] != LITELLM:
            raise UsageError(
                "only LiteLLM calls can be resumed",
                f"{call_id} ran the {record['tool']} CLI; "
                "pick one from: ccw cli history --tool litellm",
            )
        turns = list(record["messages"] or [{"role": "user", "content": record["prompt"]}])
        if record["output"]:
            turns.append({"role": "assistant", "content": record["output"]})
        return Resumed(call_id, record["conversationId"], record["endpointId"], turns)

    def conversation(self, call_id: str) -> Calls:
        """The calls of the conversation ``call_id`` belongs to (or names), oldest first,
        as ``list`` gives them; ``NotFoundError`` when no call has that id."""

        def read(db: sqlite3.Connection) -> Calls:
            found = db.execute(
                "SELECT conversation_id FROM calls WHERE id = ? OR conversation_id = ? "
                "ORDER BY id = ? DESC LIMIT 1",
                (call_id, call_id, call_id),
            ).fetchone()
            if found is None:
                return []
            sql = f"SELECT {_LIST_COLUMNS} FROM calls WHERE conversation_id = ? ORDER BY seq"
            return [_summary(row) for row in db.execute(sql, (found[0],))]

        calls = self._read(read)
        if not calls:
            raise NotFoundError(
                f"no call or conversation {call_id!r} in the history",
                "list them: ccw cli history",
            )
        return calls

    # -- the ledger ------------------------------------------------------------------------

    def spent(
        self,
        since: datetime,
        *,
        endpoint_id: str | None = None,
        project: str | None = None,
    ) -> float:
        """USD spent since ``since``: the sum of the known costs of the calls made since then
        (of one endpoint, of one project root, when given).

        A call whose model is unpriced has no known cost and adds nothing here. Reports
        (``ccw cost``) count such calls apart and never show them as $0; a budget can only
        hold what is known, so this sum is what a budget compares with its cap.
        """
        from ccw.history import ledger

        root = str(Path(project).resolve()) if project is not None else None
        return self._read(lambda db: ledger.spent(db, since, endpoint_id=endpoint_id, project=root))

    def cost_report(
        self,
        since: datetime,
        *,
        by: Sequence[str] = (),
        project: str | None = None,
    ) -> CostReport:
        """What calls cost from ``since`` until now, in total and grouped ``by`` up to two of
        endpoint, day, project and model (see ``ccw.history.ledger``); ``project`` (a project
        root) keeps that project's calls only."""
        from ccw.history import ledger

        root = str(Path(project).resolve()) if project is not None else None
        until = self._clock()
        return self._read(lambda db: ledger.report(db, since, until, by=by, project=root))

    def last_sent(
        self, pack_key: str, endpoint_id: str | None, since: datetime
    ) -> dict[str, Any] | None:
        """The newest successful call since ``since`` that sent the pack ``pack_key`` to
        ``endpoint_id`` (None: calls made without an endpoint), as ``list`` gives calls
        (``usage`` holds its cache reads and writes); None when there is none.

        A failed call is left out: the provider may never have seen its pack."""
        where, params = _since(since)
        where += ["pack_key = ?", "endpoint_id IS ?", "success = 1"]
        params += [pack_key, endpoint_id]
        sql = (
            f"SELECT {_LIST_COLUMNS} FROM calls WHERE {' AND '.join(where)} "
            "ORDER BY seq DESC LIMIT 1"
        )

        def read(db: sqlite3.Connection) -> dict[str, Any] | None:
            row = db.execute(sql, params).fetchone()
            return _summary(row) if row is not None else None

        return self._read(read)

    # -- plumbing --------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = connect(self.path, self.warnings)
        return self._db

    def _with_recovery(self, action: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``action``; if the file turns out damaged, move it aside and run it once more."""
        try:
            return action(self._connection())
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            if not is_damage(exc):
                raise
        self.close()
        move_aside(self.path, self.warnings)
        return action(self._connection())

    def _read(self, action: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return self._with_recovery(action)
        except sqlite3.Error as exc:
            raise HistoryUnavailableError(
                f"cannot read the history database {self.path}: {exc}",
                "check the file's permissions and free disk space, or set CCW_DATA_DIR",
            ) from None
        except OSError as exc:
            raise HistoryUnavailableError(
                f"cannot open the history database {self.path}: {exc.strerror or exc}",
                "check the folder's permissions, or set CCW_DATA_DIR",
            ) from None


def _since(moment: datetime) -> tuple[list[str], list[Any]]:
    """The condition (and its parameter) keeping the calls made at ``moment`` or later."""
    return ["created_at >= ?"], [stamp(moment)]


def _project_of(cwd: str) -> str | None:
    if not cwd:
        return None
    from ccw.paths import find_project_root

    return str(find_project_root(Path(cwd)))


def _kept(output: str) -> str:
    """What the history keeps of an answer: all of it, or its start and a marker."""
    if len(output) <= MAX_OUTPUT_CHARS:
        return output
    cut = len(output) - MAX_OUTPUT_CHARS
    return (
        output[:MAX_OUTPUT_CHARS]
        + f"\n\n[ccw history: {cut} more characters of this answer were not kept]"
    )


def _checked(row: sqlite3.Row) -> sqlite3.Row:
    """``row`` when each column has the type it was written with; else ``DamagedError``."""
    for name, value in zip(row.keys(), row, strict=True):
        kind = _KINDS.get(name)
        if kind is not None and not isinstance(value, kind):
            raise DamagedError(f"the history column {name} does not read back as written")
    try:
        datetime.fromisoformat(row["created_at"])
    except ValueError:
        raise DamagedError("a history time does not read back as written") from None
    return row


def _json(text: str | None, kind: type) -> Any:
    try:
        value = json.loads(text) if text is not None else None
    except ValueError:
        raise DamagedError("a history row holds invalid JSON") from None
    if value is not None and not isinstance(value, kind):
        raise DamagedError("a history row holds JSON of the wrong shape")
    return value


def _generated_id(now: datetime) -> str:
    utc = now.astimezone(UTC)
    # os.urandom, as secrets.token_hex uses, without importing secrets (and random, hashlib)
    # into every command that reads the history.
    return f"call-{utc:%y%m%d-%H%M%S}-{os.urandom(2).hex()}"


def _fts_query(text: str) -> str:
    """Each word as a quoted prefix phrase, so FTS5 syntax in user text is taken literally.

    NUL ends an SQLite string early and a lone surrogate cannot be encoded: both become
    spaces."""
    text = "".join(" " if ch == "\0" or "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return " ".join('"' + word.replace('"', '""') + '"*' for word in text.split())


def _preview(prompt: str) -> str:
    first = next((line.strip() for line in prompt.splitlines() if line.strip()), "")
    return first if len(first) <= PREVIEW_CHARS else first[: PREVIEW_CHARS - 1] + "…"


def _summary(row: sqlite3.Row) -> dict[str, Any]:
    row = _checked(row)
    return {
        "id": row["id"],
        "createdAt": row["created_at"],
        "tool": row["tool"],
        "endpointId": row["endpoint_id"],
        "provider": row["provider"],
        "model": row["model"],
        "mode": row["mode"],
        "status": "ok" if row["success"] else "error",
        "success": bool(row["success"]),
        "exitCode": row["exit_code"],
        "durationMs": row["duration_ms"],
        "cost": row["cost"],
        "costUncached": row["cost_uncached"],
        "saved": _saved(row["cost"], row["cost_uncached"]),
        "costSource": row["cost_source"],
        "cacheMiss": row["cache_miss"],
        "packKey": row["pack_key"],
        "usage": Usage(
            prompt_tokens=row["prompt_tokens"],
            completion_tokens=row["completion_tokens"],
            cached_tokens=row["cached_tokens"],
            cache_write_tokens=row["cache_write_tokens"],
            cache_write_ttl=row["cache_write_ttl"],
        ).to_dict(),
        "cacheUsed": bool(row["cache_used"]),
        "error": row["error"],
        "errorKind": row["error_kind"],
        "project": row["project"],
        "parentId": row["parent_id"],
        "conversationId": row["conversation_id"] or row["id"],
        "finishReason": row["finish_reason"],
        "deployment": row["deployment"],
        "fallbackFrom": _json(row["fallback_from"], list),
        "promptPreview": _preview(row["prompt"]),
    }


def _saved(cost: float | None, uncached: float | None) -> float | None:
    """What the prompt cache saved on a call (as ``ExecutionResult.to_dict`` says it)."""
    if cost is None or uncached is None:
        return None
    return round(uncached - cost, 8)


def _full(row: sqlite3.Row) -> dict[str, Any]:
    # ``SELECT *`` names the columns as the schema does: a damaged schema can rename one.
    if not set(_KINDS) <= set(row.keys()):
        raise DamagedError("a history column is missing")
    record = _summary(row)
    del record["promptPreview"]
    record.update(
        cwd=row["cwd"],
        prompt=row["prompt"],
        output=row["output"],
        outputChars=row["output_chars"] or len(row["output"]),
        outputTruncated=row["output_chars"] is not None,
        messages=_json(row["messages"], list),
        fix=row["fix"],
        cachedFiles=_json(row["cached_files"], list),
        warnings=_json(row["warnings"], list),
    )
    lists = (record["cachedFiles"], record["warnings"])
    if (
        any(items is None for items in lists)
        or not all(isinstance(text, str) for items in lists for text in items)
        or not all(isinstance(turn, dict) for turn in record["messages"] or [])
    ):
        raise DamagedError("a history row holds lists of the wrong shape")
    return record
