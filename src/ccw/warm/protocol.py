"""The warm socket's wire format: one JSON object per line, each way.

The client sends one request: ``{"identity": ..., "kind": "run", "options": ...,
"env": ...}``. The server answers with event lines (``{"event": "text", "piece": ...}``)
and ends with one of ``{"result": ...}`` (the call ran), ``{"error": ...}`` (it was
refused as a user error, raised again by the client) or ``{"refused": reason}`` (this
server cannot take the call: the client runs it in-process).
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccw import __version__
from ccw.exec import events
from ccw.result import ExecutionResult, Usage

if TYPE_CHECKING:
    from ccw.exec.run import RunOptions

PROTOCOL = 1
_REF = re.compile(rb"\$\{([A-Za-z_][A-Za-z0-9_]*)")
# A provider type's usual key variable (OPENAI_API_KEY, ...), read when its apiKey is unset.
_USUAL_KEY = re.compile(r"^[A-Z][A-Z0-9_]*_API_KEY$")


@dataclass(frozen=True)
class Identity:
    """What must match between caller and server for the server to run the call as the
    caller would: the ccw version and interpreter, where history and the user's config
    live, and the config files the call reads, as (path, mtime_ns, size)."""

    version: str
    python: str
    data_dir: str
    user_config_dir: str
    config_env: str  # CCW_CONFIG: the one file read alone when a call names none
    config_files: tuple[tuple[str, int, int], ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Identity:
        files = tuple((str(p), int(m), int(s)) for p, m, s in data.get("config_files", ()))
        return cls(
            str(data.get("version")),
            str(data.get("python")),
            str(data.get("data_dir")),
            str(data.get("user_config_dir")),
            str(data.get("config_env")),
            files,
        )

    def mismatch(self, other: Identity) -> str | None:
        """Why a server of identity ``self`` cannot take a call of ``other`` (None: it can)."""
        if self.version != other.version:
            return f"the warm server runs ccw {self.version}, this is ccw {other.version}"
        if self.python != other.python:
            return f"the warm server runs another Python ({self.python})"
        if self.data_dir != other.data_dir:
            return "the warm server keeps its history in another data dir (CCW_DATA_DIR)"
        if self.user_config_dir != other.user_config_dir:
            return "the warm server reads another user config (CCW_USER_CONFIG_DIR)"
        if self.config_env != other.config_env:
            return "the warm server was started with another CCW_CONFIG"
        if stamps(p for p, _, _ in other.config_files) != other.config_files:
            return "the config files differ as the warm server sees them"
        return None


def config_files(config: Path | None, cwd: Path) -> list[Path]:
    """The files a call in ``cwd`` reads its config from (``--config`` alone, else the
    user's file and the project's), found without parsing anything."""
    from ccw.paths import explicit_config, find_project_root, project_config_path, user_config_path

    chosen = explicit_config(config)
    if chosen is not None:
        return [chosen]
    return [user_config_path(), project_config_path(find_project_root(cwd))]


def stamps(paths: Any) -> tuple[tuple[str, int, int], ...]:
    found: list[tuple[str, int, int]] = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            found.append((str(path), 0, -1))
            continue
        found.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(found)


def identity_for(files: list[Path]) -> Identity:
    from ccw.paths import data_dir, user_config_path

    return Identity(
        __version__,
        sys.executable,
        str(data_dir().resolve()),
        str(user_config_path().parent.resolve()),
        os.environ.get("CCW_CONFIG", ""),
        stamps(files),
    )


def caller_values(files: list[Path]) -> dict[str, str]:
    """The caller's values of the variables the call may need: every ``${VAR}`` in its
    config files and the provider types' usual key variables. They go over the socket
    only; the server resolves this call's references with them and stores none."""
    names: set[str] = set()
    for path in files:
        try:
            names.update(m.group(1).decode() for m in _REF.finditer(path.read_bytes()))
        except OSError:
            continue
    values = {name: os.environ[name] for name in names if name in os.environ}
    values.update({k: v for k, v in os.environ.items() if _USUAL_KEY.match(k)})
    return values


def options_to_dict(options: RunOptions) -> dict[str, Any]:
    """Every field of the options (a field added later crosses the socket too)."""
    packing = options.packing
    return {
        **{f.name: getattr(options, f.name) for f in fields(options)},
        "cwd": str(options.cwd),
        "config": str(options.config) if options.config else None,
        "packing": {
            **{f.name: getattr(packing, f.name) for f in fields(packing)},
            "include_dirs": [str(p) for p in packing.include_dirs],
            "exclude_dirs": list(packing.exclude_dirs)
            if packing.exclude_dirs is not None
            else None,
        },
    }


def options_from_dict(data: dict[str, Any]) -> RunOptions:
    from ccw.context.options import PackOptions
    from ccw.exec.run import RunOptions

    # A partial dict (the fast entry's) takes RunOptions' and PackOptions' defaults.
    packing = dict(data.get("packing") or {})
    packing["include_dirs"] = tuple(Path(p) for p in packing.get("include_dirs", ()))
    if packing.get("exclude_dirs") is not None:
        packing["exclude_dirs"] = tuple(packing["exclude_dirs"])
    return RunOptions(
        **{
            **data,
            "cwd": Path(data["cwd"]),
            "config": Path(data["config"]) if data.get("config") else None,
            "packing": PackOptions(**packing),
        }
    )


def event_to_dict(event: events.Event) -> dict[str, Any]:
    if isinstance(event, events.Text):
        return {"event": "text", "piece": event.piece}
    if isinstance(event, events.Warning):
        return {"event": "warning", "text": event.text}
    if isinstance(event, events.Status):
        return {"event": "status", "text": event.text}
    return {"event": "progress", "done": event.done, "total": event.total}


def event_from_dict(data: dict[str, Any]) -> events.Event:
    kind = data["event"]
    if kind == "text":
        return events.Text(str(data["piece"]))
    if kind == "warning":
        return events.Warning(str(data["text"]))
    if kind == "status":
        return events.Status(str(data["text"]))
    return events.Progress(int(data["done"]), int(data["total"]))


def result_from_dict(data: dict[str, Any]) -> ExecutionResult:
    """The inverse of ``ExecutionResult.to_dict``."""
    usage = data.get("usage") or {}
    return ExecutionResult(
        success=bool(data["success"]),
        output=data.get("output") or "",
        model=data.get("model") or "",
        provider=data.get("provider") or "",
        cache_used=bool(data.get("cacheUsed")),
        cached_files=list(data.get("cachedFiles") or []),
        error=data.get("error"),
        fix=data.get("fix"),
        error_kind=data.get("errorKind"),
        exit_code=int(data.get("exitCode") or 0),
        endpoint_id=data.get("endpointId"),
        tool=data.get("tool") or "litellm",
        mode=data.get("mode") or "analysis",
        usage=Usage(
            usage.get("promptTokens"),
            usage.get("completionTokens"),
            usage.get("cachedTokens"),
            usage.get("cacheWriteTokens"),
            usage.get("cacheWriteTtl"),
        ),
        cost=data.get("cost"),
        cost_uncached=data.get("costUncached"),
        cost_source=data.get("costSource"),
        cache_miss=data.get("cacheMiss"),
        pack_key=data.get("packKey"),
        duration_ms=int(data.get("durationMs") or 0),
        id=data.get("id"),
        warnings=list(data.get("warnings") or []),
        finish_reason=data.get("finishReason"),
        parent_id=data.get("parentId"),
        conversation_id=data.get("conversationId"),
        deployment=data.get("deployment"),
        fallback_from=data.get("fallbackFrom"),
    )


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    value = json.loads(line)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value
