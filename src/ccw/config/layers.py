"""The config a command sees: the user's file beneath the project's.

``~/.config/ccw/litellm-api-config.json`` (the user file) holds what follows the user into
every repository: providers, keys as ``${NAME}`` references, endpoints used everywhere. The
project's ``.ccw/storage/config/litellm-api-config.json`` is read over it: an entry with the
same id replaces the user's, and the project's ``defaultEndpoint`` wins. ``--config`` or
``CCW_CONFIG`` select one file, read alone.

Edits go to one file (a ``ConfigStore``); ``LayeredConfig.store_for`` picks it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ccw.config.provenance import FileRead, Provenance, attach
from ccw.config.schema import Config, Endpoint, Provider
from ccw.config.store import ConfigStore
from ccw.errors import UsageError
from ccw.paths import (
    explicit_config,
    find_project_root,
    project_config_path,
    project_root_of,
    user_config_path,
)

USER = "user"
PROJECT = "project"
CONFIG = "config"  # the one file --config / CCW_CONFIG selects
SCOPES: tuple[str, ...] = (USER, PROJECT)
DEFAULT_SCOPE_HELP = (
    "Default: this project's file when it has a .ccw/ folder (the project's own config, "
    "which a team may share), else your user file, so a repository without .ccw/ is never "
    "changed; an existing entry is changed where it is defined."
)

E = TypeVar("E", Provider, Endpoint)


@dataclass(frozen=True)
class Layer:
    scope: str
    store: ConfigStore


def _by_id(lower: Sequence[E], upper: Sequence[E]) -> list[E]:
    """``lower``'s entries with ``upper``'s of the same id in their place, then ``upper``'s
    new ones. Each entry is kept whole (unknown fields included): no field-by-field merge."""
    replacing = {entry.id: entry for entry in upper}
    merged = [replacing.pop(entry.id, entry) for entry in lower]
    return merged + [entry for entry in upper if entry.id in replacing]


def merge(lower: Config, upper: Config) -> Config:
    """``upper`` (the project) read over ``lower`` (the user): entries by id; other settings
    from ``upper`` where its file sets them; ``allowedEnvVars`` from both."""
    update: dict[str, Any] = {}
    for name in type(upper).model_fields:
        if name in ("providers", "endpoints", "allowed_env_vars"):
            continue
        if name in upper.model_fields_set and getattr(upper, name) is not None:
            update[name] = getattr(upper, name)
        elif name in lower.model_fields_set:
            update[name] = getattr(lower, name)
    update["providers"] = _by_id(lower.providers, upper.providers)
    update["endpoints"] = _by_id(lower.endpoints, upper.endpoints)
    names = [*(lower.allowed_env_vars or []), *(upper.allowed_env_vars or [])]
    allowed = list(dict.fromkeys(names))
    update["allowed_env_vars"] = allowed or None
    merged = Config.model_validate({**(lower.model_extra or {}), **(upper.model_extra or {})})
    return merged.model_copy(update=update, deep=True)


class LayeredConfig:
    """The layers of one project (user, then project), or one file chosen alone.

    ``load()`` is the merged config, marked with its provenance; ``path`` is the project's
    file (or the chosen one), so code written for a single ``ConfigStore`` reads the same.
    """

    def __init__(self, project: ConfigStore, user: ConfigStore | None = None) -> None:
        self.project = project
        self.user = user if user is None or user.path != project.path else None
        self.alone = self.user is None

    @classmethod
    def open(cls, explicit: str | Path | None = None, cwd: Path | None = None) -> LayeredConfig:
        """``--config``/``CCW_CONFIG`` alone, else the user's file and the project's."""
        chosen = explicit_config(explicit)
        if chosen is not None:
            return cls(ConfigStore(chosen))
        project = project_config_path(find_project_root(cwd))
        return cls(ConfigStore(project), ConfigStore(user_config_path()))

    @classmethod
    def for_file(cls, store: ConfigStore) -> LayeredConfig:
        """The layers around a file already chosen: a project's own file (in
        ``.ccw/storage/config/``, not named by ``CCW_CONFIG``) gets the user's file beneath
        it; any other file is read alone."""
        chosen = explicit_config()
        own = store.path == project_config_path(project_root_of(store.path))
        if not own or chosen == Path(store.path).resolve():
            return cls(store)
        return cls(store, ConfigStore(user_config_path()))

    @property
    def path(self) -> Path:
        return self.project.path

    @property
    def layers(self) -> list[Layer]:
        """The files in the order they are read; later ones win."""
        if self.user is None:
            return [Layer(CONFIG, self.project)]
        return [Layer(USER, self.user), Layer(PROJECT, self.project)]

    def exists(self) -> bool:
        return any(layer.store.exists() for layer in self.layers)

    def load(self) -> Config:
        loaded = [(layer, layer.store.load()) for layer in self.layers]
        # A file that does not exist adds nothing: no merge to pay for (the common case of
        # a project without .ccw/, or a user without a user file).
        present = [config for layer, config in loaded if layer.store.exists()] or [loaded[-1][1]]
        merged = present[0]
        for upper in present[1:]:
            merged = merge(merged, upper)
        return attach(merged, _provenance(loaded))

    def store_for(self, scope: str | None) -> ConfigStore:
        """The file an edit in ``scope`` writes; ``None`` is the default (see
        ``DEFAULT_SCOPE_HELP``)."""
        if self.user is None:
            if scope == USER:
                raise UsageError(
                    "--global cannot be used with --config or CCW_CONFIG (they select one "
                    "file alone)",
                    "drop --global, or unset CCW_CONFIG / leave out --config",
                )
            return self.project
        if scope is None:
            scope = PROJECT if self.project_folder().is_dir() else USER
        if scope not in SCOPES:
            raise UsageError(f"unknown scope {scope!r}", "use user or project")
        return self.user if scope == USER else self.project

    def scope_of(self, store: ConfigStore) -> str:
        return next(layer.scope for layer in self.layers if layer.store is store)

    def project_folder(self) -> Path:
        """The project's ``.ccw/`` folder (whether it exists or not)."""
        return self.project.path.parent.parent.parent

    def others(self, store: ConfigStore) -> Config | None:
        """The merged config of every layer but ``store``: what references may point to."""
        rest = [layer.store.load() for layer in self.layers if layer.store is not store]
        if not rest:
            return None
        merged = rest[0]
        for upper in rest[1:]:
            merged = merge(merged, upper)
        return merged

    def store_holding(self, kind: str, entry_id: str, scope: str | None) -> ConfigStore:
        """Where an edit of an existing entry goes: ``scope`` if given, else the file that
        defines it (the project's when both do), else the default."""
        if scope is not None:
            return self.store_for(scope)
        for layer in reversed(self.layers):
            config = layer.store.load()
            found = config.provider(entry_id) if kind == "provider" else config.endpoint(entry_id)
            if found is not None:
                return layer.store
        return self.store_for(None)


def _provenance(loaded: list[tuple[Layer, Config]]) -> Provenance:
    providers: dict[str, str] = {}
    endpoints: dict[str, str] = {}
    overridden: dict[tuple[str, str], str] = {}
    files = []
    for layer, config in loaded:
        for provider in config.providers:
            if provider.id in providers:
                overridden[("provider", provider.id)] = providers[provider.id]
            providers[provider.id] = layer.scope
        for endpoint in config.endpoints:
            if endpoint.id in endpoints:
                overridden[("endpoint", endpoint.id)] = endpoints[endpoint.id]
            endpoints[endpoint.id] = layer.scope
        files.append(
            FileRead(
                layer.scope,
                layer.store.path,
                layer.store.exists(),
                tuple(p.id for p in config.providers),
                tuple(e.id for e in config.endpoints),
            )
        )
    return Provenance(tuple(files), providers, endpoints, overridden)
