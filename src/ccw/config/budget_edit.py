"""Setting and removing budgets (``ccw budget set`` / ``remove``) through the config store.

A budget covers an endpoint, a project folder, both, or every call (``ccw.exec.budget``).
A new one goes where a user would look for it: an endpoint's in that endpoint's ``budget``
(``manage.update_endpoint``), every call's in ``globalCacheSettings.budget``
(``manage.update_cache_settings``), a project's in the top-level ``budgets`` list. An
existing budget covering exactly the same calls is changed where it is, whichever of these
places holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from ccw.config import manage
from ccw.config.layers import LayeredConfig
from ccw.config.schema import Budget, Config, ScopedBudget
from ccw.config.store import ConfigStore
from ccw.errors import NotFoundError, UsageError
from ccw.paths import project_root_of

# Where a budget lives in a file.
ENDPOINT_FIELD = "endpoint"
TOTAL_FIELD = "total"
LIST_ENTRY = "list"
B = TypeVar("B", bound=Budget)


@dataclass(frozen=True)
class Target:
    """The calls a budget covers: one endpoint's, one project's (a resolved project root),
    both, or (neither) every call."""

    endpoint_id: str | None = None
    project: Path | None = None

    @property
    def name(self) -> str:
        parts = [f"endpoint {self.endpoint_id}"] if self.endpoint_id else []
        if self.project is not None:
            parts.append(f"project {self.project}")
        return " in ".join(parts) or "every call"


@dataclass(frozen=True)
class Place:
    """Where a budget is (or goes): the file, and the field in it."""

    store: ConfigStore
    kind: str  # ENDPOINT_FIELD, TOTAL_FIELD or LIST_ENTRY
    index: int | None = None  # the entry of the ``budgets`` list

    def field(self, target: Target) -> str:
        if self.kind == ENDPOINT_FIELD:
            return f"endpoints[{target.endpoint_id}].budget"
        if self.kind == TOTAL_FIELD:
            return "globalCacheSettings.budget"
        return f"budgets[{self.index}]" if self.index is not None else "budgets"


def set_budget(
    layered: LayeredConfig, target: Target, changes: dict[str, Any], scope: str | None
) -> tuple[Place, Budget]:
    """Set ``changes`` (``dailyUsd``, ``monthlyUsd``, ``warnAt``) on the budget of ``target``:
    the existing one (in ``scope``'s file when given, else wherever it is) or a new one."""
    if not changes:
        raise UsageError("nothing to set", "pass --daily USD, --monthly USD or --warn-at SHARE")
    place = _existing(layered, target, scope) or _new_place(layered, target, scope)
    current = _current(place, target)
    merged = {**(current.to_json() if current else {}), **changes}
    budget = _validated(Budget, merged)
    if place.kind == LIST_ENTRY:
        return _write_entry(place, target, merged), budget
    if place.kind == ENDPOINT_FIELD:
        assert target.endpoint_id is not None
        others = layered.others(place.store)
        manage.update_endpoint(place.store, target.endpoint_id, {"budget": merged}, others=others)
    else:
        manage.update_cache_settings(place.store, {"budget": merged})
    return place, budget


def remove_budget(layered: LayeredConfig, target: Target, scope: str | None) -> Place:
    """Remove the budget of ``target`` (from ``scope``'s file when given)."""
    place = _existing(layered, target, scope)
    if place is None:
        files = ", ".join(str(layer.store.path) for layer in layered.layers)
        raise NotFoundError(
            f"no budget of {target.name} in {files}", "ccw budget lists the budgets set"
        )
    if place.kind == ENDPOINT_FIELD:
        assert target.endpoint_id is not None
        manage.update_endpoint(place.store, target.endpoint_id, {"budget": None})
    elif place.kind == TOTAL_FIELD:
        manage.update_cache_settings(place.store, {"budget": None})
    else:
        with place.store.edit() as config:
            entries = list(config.budgets or ())
            del entries[_index(config, place.store, target)]
            config.budgets = entries or None
    return place


def _existing(layered: LayeredConfig, target: Target, scope: str | None) -> Place | None:
    """The budget of exactly ``target``: in ``scope``'s file, or the nearest file holding
    one (the project's before the user's)."""
    stores = (
        [layered.store_for(scope)]
        if scope is not None
        else [layer.store for layer in reversed(layered.layers)]
    )
    for store in stores:
        config = store.load()
        index = _find(config, store, target)
        if index is not None:
            return Place(store, LIST_ENTRY, index)
        if target.project is None:
            if target.endpoint_id is None and config.global_cache_settings.budget is not None:
                return Place(store, TOTAL_FIELD)
            endpoint = config.endpoint(target.endpoint_id) if target.endpoint_id else None
            if endpoint is not None and endpoint.budget is not None:
                return Place(store, ENDPOINT_FIELD)
    return None


def _new_place(layered: LayeredConfig, target: Target, scope: str | None) -> Place:
    if target.project is not None:
        return Place(layered.store_for(scope), LIST_ENTRY)
    if target.endpoint_id is None:
        return Place(layered.store_for(scope), TOTAL_FIELD)
    return Place(layered.store_holding("endpoint", target.endpoint_id, scope), ENDPOINT_FIELD)


def _current(place: Place, target: Target) -> Budget | None:
    config = place.store.load()
    if place.kind == LIST_ENTRY:
        return None if place.index is None else (config.budgets or [])[place.index]
    if place.kind == TOTAL_FIELD:
        return config.global_cache_settings.budget
    endpoint = config.endpoint(target.endpoint_id) if target.endpoint_id else None
    return endpoint.budget if endpoint is not None else None


def _find(config: Config, store: ConfigStore, target: Target) -> int | None:
    root = project_root_of(store.path)
    for index, entry in enumerate(config.budgets or ()):
        if entry.endpoint == target.endpoint_id and entry.folder(root) == target.project:
            return index
    return None


def _index(config: Config, store: ConfigStore, target: Target) -> int:
    index = _find(config, store, target)
    if index is None:  # changed by another process since it was found
        raise NotFoundError(f"no budget of {target.name} in {store.path}")
    return index


def _write_entry(place: Place, target: Target, merged: dict[str, Any]) -> Place:
    """Change the list entry of ``target`` (or add one): the project written as ``.`` when it
    is the file's own project, else as an absolute path."""
    store = place.store
    with store.edit() as config:
        entries = list(config.budgets or ())
        index = _find(config, store, target)
        if index is not None:
            data = {**entries[index].to_json(), **merged}
            entries[index] = _validated(ScopedBudget, data)
        else:
            data = dict(merged)
            if target.endpoint_id is not None:
                data["endpoint"] = target.endpoint_id
            if target.project is not None:
                own = target.project == project_root_of(store.path).resolve()
                data["project"] = "." if own else str(target.project)
            entries.append(_validated(ScopedBudget, data))
            index = len(entries) - 1
        config.budgets = entries
    return Place(store, LIST_ENTRY, index)


def _validated(model: type[B], data: dict[str, Any]) -> B:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise UsageError(f"invalid budget: {where + ': ' if where else ''}{message}") from None
