"""ccw: turn a prompt with @file patterns into a well-packed, cached LLM call on any provider.

The public Python surface is the names in ``__all__``, imported on first use (a module
``__getattr__``) so that ``import ccw``, and with it ``ccw --help``, loads neither pydantic
nor LiteLLM. See ``docs/python-api.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ccw.version import __version__

# Public name -> the module that defines it.
_EXPORTS = {
    "execute": "ccw.exec.run",
    "plan": "ccw.exec.run",
    "RunOptions": "ccw.exec.run",
    "ExecutionResult": "ccw.result",
    "Usage": "ccw.result",
    "CcwError": "ccw.errors",
    "build_context": "ccw.context.api",
    **dict.fromkeys(
        [
            "load_config",
            "get_all_providers",
            "get_provider",
            "get_provider_with_resolved_env_vars",
            "add_provider",
            "update_provider",
            "delete_provider",
            "get_all_endpoints",
            "get_endpoint",
            "find_endpoint_by_id",
            "add_endpoint",
            "update_endpoint",
            "delete_endpoint",
            "execute_litellm_endpoint",
            "extract_patterns",
            "Output",
            "ResolvedProvider",
            "Secret",
        ],
        "ccw.spec_api",
    ),
}

__all__ = [
    "CcwError",
    "ExecutionResult",
    "Output",
    "ResolvedProvider",
    "RunOptions",
    "Secret",
    "Usage",
    "__version__",
    "add_endpoint",
    "add_provider",
    "build_context",
    "delete_endpoint",
    "delete_provider",
    "execute",
    "execute_litellm_endpoint",
    "extract_patterns",
    "find_endpoint_by_id",
    "get_all_endpoints",
    "get_all_providers",
    "get_endpoint",
    "get_provider",
    "get_provider_with_resolved_env_vars",
    "load_config",
    "plan",
    "update_endpoint",
    "update_provider",
]

if TYPE_CHECKING:
    from ccw.context.api import build_context
    from ccw.errors import CcwError
    from ccw.exec.run import RunOptions, execute, plan
    from ccw.result import ExecutionResult, Usage
    from ccw.spec_api import (
        Output,
        ResolvedProvider,
        Secret,
        add_endpoint,
        add_provider,
        delete_endpoint,
        delete_provider,
        execute_litellm_endpoint,
        extract_patterns,
        find_endpoint_by_id,
        get_all_endpoints,
        get_all_providers,
        get_endpoint,
        get_provider,
        get_provider_with_resolved_env_vars,
        load_config,
        update_endpoint,
        update_provider,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ccw' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
