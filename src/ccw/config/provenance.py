"""Where each provider and endpoint of a merged config comes from.

A merged config carries its provenance with it (through ``effective_config`` copies too), so
that a lookup that fails deep inside a call can still name the files that were read and the
ids each one holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ccw.config.schema import Config

_ATTRIBUTE = "_ccw_provenance"
BUILTIN = "built-in"


@dataclass(frozen=True)
class FileRead:
    """One config file read, in order: ``scope`` is ``user``, ``project`` or ``config`` (the
    one file ``--config``/``CCW_CONFIG`` selects)."""

    scope: str
    path: Path
    exists: bool
    provider_ids: tuple[str, ...] = ()
    endpoint_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Provenance:
    files: tuple[FileRead, ...]
    providers: dict[str, str] = field(default_factory=dict)
    endpoints: dict[str, str] = field(default_factory=dict)
    # ids a later file overrides: (kind, id) -> the scope whose entry is hidden
    overridden: dict[tuple[str, str], str] = field(default_factory=dict)

    def provider_source(self, provider_id: str) -> str:
        return self.providers.get(provider_id, BUILTIN)

    def endpoint_source(self, endpoint_id: str) -> str:
        return self.endpoints.get(endpoint_id, BUILTIN)

    def file_of(self, kind: str, entry_id: str) -> Path | None:
        """The file that defines a ``provider`` or ``endpoint`` (``None``: built in)."""
        if kind == "provider":
            scope = self.provider_source(entry_id)
        else:
            scope = self.endpoint_source(entry_id)
        return next((read.path for read in self.files if read.scope == scope), None)

    def describe(self, kind: str) -> str:
        """``read user /a.json (ids: x, y); project /b.json (no file)``: for messages."""
        parts = []
        for read in self.files:
            ids = read.provider_ids if kind == "provider" else read.endpoint_ids
            held = "no file" if not read.exists else "ids: " + (", ".join(ids) or "none")
            parts.append(f"{read.scope} {read.path} ({held})")
        return "read " + "; ".join(parts)


def attach(config: Config, provenance: Provenance) -> Config:
    """Mark ``config`` with where its entries come from (kept by ``model_copy``)."""
    setattr(config, _ATTRIBUTE, provenance)
    return config


def provenance_of(config: Config) -> Provenance | None:
    found = getattr(config, _ATTRIBUTE, None)
    return found if isinstance(found, Provenance) else None
