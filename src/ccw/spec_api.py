"""The original tool's API (``LITELLM_INTEGRATION.md``, "API Reference") under Python names.

``getAllProviders(baseDir)`` is ``get_all_providers(base_dir)``, and so on: thin, typed
functions over the same library calls the CLI makes, on the same file, with the same checks.
``base_dir`` is the project folder; its config is
``<base_dir>/.ccw/storage/config/litellm-api-config.json``, read over the user's own config
file as the CLI reads it (``ccw config path``): lookups see both, edits write the project's
file, and an endpoint there may use a provider of the user's file. Edits take the config file's own
camelCase fields (``{"type": "openai", "apiKey": "${OPENAI_API_KEY}"}``) and follow the CLI's
rules (variables named in ``apiBase`` or headers join ``allowedEnvVars``). A resolved key is
wrapped in ``Secret``, whose ``repr`` and ``str`` are masked, so it reaches no log by accident.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ccw.config import manage
from ccw.config.effective import effective_config
from ccw.config.layers import LayeredConfig
from ccw.config.providers import resolve_key
from ccw.config.schema import Config, Endpoint, Provider
from ccw.config.secrets import mask
from ccw.config.store import ConfigStore
from ccw.errors import NotFoundError
from ccw.paths import CONFIG_RELATIVE, find_project_root, user_config_path
from ccw.result import ExecutionResult

if TYPE_CHECKING:
    from ccw.exec.events import OnEvent

PathLike = str | os.PathLike[str]

__all__ = [
    "Output",
    "ResolvedProvider",
    "Secret",
    "add_endpoint",
    "add_provider",
    "delete_endpoint",
    "delete_provider",
    "execute_litellm_endpoint",
    "extract_patterns",
    "find_endpoint_by_id",
    "get_all_endpoints",
    "get_all_providers",
    "get_endpoint",
    "get_provider",
    "get_provider_with_resolved_env_vars",
    "load_config",
    "update_endpoint",
    "update_provider",
]


@dataclass(frozen=True)
class Secret:
    """A resolved credential: ``reveal()`` gives it; ``repr`` and ``str`` show it masked."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({mask(self._value)!r})"

    __str__ = __repr__


@dataclass(frozen=True)
class ResolvedProvider:
    """``ProviderCredential & { resolvedApiKey }``: the provider as stored, plus its key with
    ``${VAR}`` resolved (``None`` for a type that needs no key and has none)."""

    provider: Provider
    resolved_api_key: Secret | None

    def __repr__(self) -> str:
        # The stored provider may hold a literal key: only its masked form is shown.
        shown = manage.masked_provider(self.provider)
        return (
            f"ResolvedProvider(id={self.provider.id!r}, type={self.provider.type!r}, "
            f"api_key={shown.get('apiKey')!r}, resolved_api_key={self.resolved_api_key!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class Output:
    """What ``on_output`` receives: ``stdout`` for each piece of the answer as it streams,
    ``stderr`` for each status line (warnings, the local model starting)."""

    type: Literal["stdout", "stderr"]
    data: str


def _store(base_dir: PathLike) -> ConfigStore:
    return ConfigStore(Path(base_dir).resolve() / CONFIG_RELATIVE)


def _layers(base_dir: PathLike) -> LayeredConfig:
    """The user's config file beneath the project's."""
    return LayeredConfig(_store(base_dir), ConfigStore(user_config_path()))


def _others(base_dir: PathLike) -> Config | None:
    """The user's file: what the project's endpoints may refer to."""
    layers = _layers(base_dir)
    return layers.others(layers.project)


def load_config(base_dir: PathLike | None = None) -> Config:
    """The validated config of the project ``base_dir`` (the user's file beneath it);
    without it, the config ``ccw`` uses from the working directory (``CCW_CONFIG`` alone,
    else the project around it over the user's file)."""
    if base_dir is None:
        return LayeredConfig.open().load()
    return _layers(base_dir).load()


def _effective(base_dir: PathLike) -> Config:
    """The config as the CLI shows it: both files plus the built-in ``local`` model."""
    return effective_config(_layers(base_dir).load())


# ---- providers -----------------------------------------------------------------------------


def get_all_providers(base_dir: PathLike) -> list[Provider]:
    return list(_effective(base_dir).providers)


def get_provider(base_dir: PathLike, provider_id: str) -> Provider | None:
    return _effective(base_dir).provider(provider_id)


def get_provider_with_resolved_env_vars(
    base_dir: PathLike, provider_id: str
) -> ResolvedProvider | None:
    """The provider and its key, resolved in memory as a call resolves it. A ``${VAR}`` that
    is not set, or no key where the type needs one, raises ``MissingKeyError`` (its ``fix``
    says what to export)."""
    provider = get_provider(base_dir, provider_id)
    if provider is None:
        return None
    return ResolvedProvider(provider, _resolved_key(provider))


def _resolved_key(provider: Provider) -> Secret | None:
    key = resolve_key(provider)
    return None if key is None else Secret(key)


def add_provider(base_dir: PathLike, provider_data: Mapping[str, Any]) -> Provider:
    """Add a provider; without an ``id`` one is made from its type (``openai-1a2b3c4d``)."""
    return manage.add_provider(_store(base_dir), dict(provider_data), others=_others(base_dir))


def update_provider(base_dir: PathLike, provider_id: str, updates: Mapping[str, Any]) -> Provider:
    return manage.update_provider(
        _store(base_dir), provider_id, dict(updates), others=_others(base_dir)
    )


def delete_provider(base_dir: PathLike, provider_id: str) -> bool:
    """Delete a provider and its endpoints; ``False`` when there is no such provider."""
    try:
        manage.remove_provider(_store(base_dir), provider_id, others=_others(base_dir))
    except NotFoundError:
        return False
    return True


# ---- endpoints -----------------------------------------------------------------------------


def get_all_endpoints(base_dir: PathLike) -> list[Endpoint]:
    return list(_effective(base_dir).endpoints)


def get_endpoint(base_dir: PathLike, endpoint_id: str) -> Endpoint | None:
    return _effective(base_dir).endpoint(endpoint_id)


def find_endpoint_by_id(base_dir: PathLike, endpoint_id: str) -> Endpoint | None:
    """The spec names this lookup besides ``getEndpoint``; both answer the same."""
    return get_endpoint(base_dir, endpoint_id)


def add_endpoint(base_dir: PathLike, endpoint_data: Mapping[str, Any]) -> Endpoint:
    """Add an endpoint (``id``, ``providerId``, ``model`` required); the first one becomes
    the default."""
    return manage.add_endpoint(_store(base_dir), dict(endpoint_data), others=_others(base_dir))


def update_endpoint(base_dir: PathLike, endpoint_id: str, updates: Mapping[str, Any]) -> Endpoint:
    return manage.update_endpoint(
        _store(base_dir), endpoint_id, dict(updates), others=_others(base_dir)
    )


def delete_endpoint(base_dir: PathLike, endpoint_id: str) -> bool:
    """``False`` when there is no such endpoint."""
    try:
        manage.remove_endpoint(_store(base_dir), endpoint_id, others=_others(base_dir))
    except NotFoundError:
        return False
    return True


# ---- executor ------------------------------------------------------------------------------


def execute_litellm_endpoint(
    *,
    prompt: str,
    endpoint_id: str,
    base_dir: PathLike,
    cwd: PathLike | None = None,
    include_dirs: Iterable[PathLike] = (),
    enable_cache: bool = True,
    on_output: Callable[[Output], None] | None = None,
) -> ExecutionResult:
    """Run ``prompt`` on the endpoint, as ``ccw cli --tool litellm --model ENDPOINT_ID``.

    ``@patterns`` are read from ``cwd`` (default ``base_dir``). The config is the one the
    lookups above read (the user's file beneath the project's); when ``cwd`` lies in another
    project, ``base_dir``'s file is read alone. Bad arguments raise
    ``UsageError``; every later failure comes back as a result with ``success=False``,
    ``error`` and ``fix``. The call is recorded in the history, as ``ccw cli`` does.
    """
    from ccw.context.options import PackOptions
    from ccw.exec.run import RunOptions, execute

    call_cwd = Path(cwd if cwd is not None else base_dir).resolve()
    options = RunOptions(
        prompt=prompt,
        model=endpoint_id,
        tool="litellm",
        cwd=call_cwd,
        packing=PackOptions(
            include_dirs=tuple(Path(folder) for folder in include_dirs), use_cache=enable_cache
        ),
        config=_call_config(base_dir, call_cwd),
    )
    return execute(options, _output_events(on_output) if on_output else None)


def _call_config(base_dir: PathLike, cwd: Path) -> Path | None:
    """``None`` (the layers of the project around ``cwd``) when that project is
    ``base_dir``; else ``base_dir``'s file, chosen alone like ``--config``."""
    if find_project_root(cwd) == Path(base_dir).resolve():
        return None
    return _store(base_dir).path


def _output_events(on_output: Callable[[Output], None]) -> OnEvent:
    """The call's typed events as the spec's ``{type, data}`` pairs; packing progress, which
    the spec has no line for, is left out."""
    from ccw.exec import events

    def forward(event: events.Event) -> None:
        if isinstance(event, events.Text):
            on_output(Output("stdout", event.piece))
        elif isinstance(event, events.Warning):
            on_output(Output("stderr", "warning: " + event.text))
        elif isinstance(event, events.Status):
            on_output(Output("stderr", event.text))

    return forward


def extract_patterns(prompt: str) -> list[str]:
    """The prompt's ``@patterns`` as ``ccw pack`` takes them: without ``@`` or quotes, an
    exclusion as ``!pattern``, in the order written."""
    from ccw.context.parse import find_patterns

    return [("!" if p.exclude else "") + p.text for p in find_patterns(prompt)]
