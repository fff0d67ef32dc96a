"""Command-line AI tools (gemini, qwen, codex, claude) as executors.

Each runs as a subprocess with the prompt on standard input and its own flags for the
requested mode; see ``flags`` for the mapping and ``docs/tools.md`` for the table.
"""

from ccw.exec.tools.executor import (
    KILL_GRACE_SECONDS,
    ToolExecutor,
    ToolMissingError,
    ToolRequest,
    ToolStartError,
    run_tool,
)
from ccw.exec.tools.flags import INSTALL_PACKAGES, MODE_FLAGS, TOOLS, tool_arguments

__all__ = [
    "INSTALL_PACKAGES",
    "KILL_GRACE_SECONDS",
    "MODE_FLAGS",
    "TOOLS",
    "ToolExecutor",
    "ToolMissingError",
    "ToolRequest",
    "ToolStartError",
    "run_tool",
    "tool_arguments",
]
