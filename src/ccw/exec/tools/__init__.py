"""Command-line AI tools (gemini, qwen, codex, claude) as executors.

Each runs as a subprocess with the prompt on standard input and its own flags for the
requested mode; see ``flags`` for the mapping and ``docs/tools.md`` for the table.
"""

from ccw.exec.tools.executor import (
    DEFAULT_TOOL_TIMEOUT_SECONDS,
    KILL_GRACE_SECONDS,
    TOOL_TIMEOUT_ENV,
    ToolExecutor,
    ToolMissingError,
    ToolRequest,
    ToolStartError,
    default_tool_timeout,
    run_tool,
)
from ccw.exec.tools.flags import INSTALL_PACKAGES, MODE_FLAGS, TOOLS, tool_arguments

__all__ = [
    "DEFAULT_TOOL_TIMEOUT_SECONDS",
    "INSTALL_PACKAGES",
    "KILL_GRACE_SECONDS",
    "MODE_FLAGS",
    "TOOLS",
    "TOOL_TIMEOUT_ENV",
    "ToolExecutor",
    "ToolMissingError",
    "ToolRequest",
    "ToolStartError",
    "default_tool_timeout",
    "run_tool",
    "tool_arguments",
]
