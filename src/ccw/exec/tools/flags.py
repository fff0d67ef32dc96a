"""Each tool's command line: how a ccw request becomes that tool's own non-interactive flags.

The prompt never appears here: it goes on standard input (see ``process``). The working
directory is applied by spawning the tool in it, so no ``--cd``-like flag is passed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ccw.errors import UsageError
from ccw.exec.executor import MODES

TOOLS: tuple[str, ...] = ("gemini", "qwen", "codex", "claude")

INSTALL_PACKAGES: Mapping[str, str] = {
    "gemini": "@google/gemini-cli",
    "qwen": "@qwen-code/qwen-code",
    "codex": "@openai/codex",
    "claude": "@anthropic-ai/claude-code",
}

# mode -> the tool's own approval / sandbox / permission flags.
# analysis: the tool may read but not change files; write: edits allowed;
# auto: the tool's most autonomous setting.
MODE_FLAGS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "gemini": {
        "analysis": ("--approval-mode", "default"),
        "write": ("--approval-mode", "auto_edit"),
        "auto": ("--approval-mode", "yolo"),
    },
    "qwen": {
        "analysis": ("--approval-mode", "default"),
        "write": ("--approval-mode", "auto-edit"),
        "auto": ("--approval-mode", "yolo"),
    },
    "codex": {
        "analysis": ("--sandbox", "read-only"),
        "write": ("--sandbox", "workspace-write"),
        "auto": ("--sandbox", "danger-full-access"),
    },
    "claude": {
        "analysis": ("--permission-mode", "plan"),
        "write": ("--permission-mode", "acceptEdits"),
        "auto": ("--permission-mode", "bypassPermissions"),
    },
}

# Fixed words that put each tool in its one-shot, read-the-prompt-from-stdin form.
_HEAD: Mapping[str, tuple[str, ...]] = {
    "gemini": (),  # stdin that is not a terminal makes gemini non-interactive
    "qwen": (),
    "codex": ("exec", "--skip-git-repo-check"),  # ccw picks the directory, git or not
    "claude": ("-p",),
}
_TAIL: Mapping[str, tuple[str, ...]] = {"codex": ("-",)}  # "-": read the prompt from stdin

_INCLUDE_FLAG: Mapping[str, str] = {
    "gemini": "--include-directories",
    "qwen": "--include-directories",
    "codex": "--add-dir",
    "claude": "--add-dir",
}

# Headless gemini (>= 0.41) refuses to run in a folder the user never trusted interactively;
# ccw was pointed at the folder explicitly, so it trusts it for this one run.
_TOOL_ENV: Mapping[str, Mapping[str, str]] = {"gemini": {"GEMINI_CLI_TRUST_WORKSPACE": "true"}}


def check_tool(tool: str) -> None:
    if tool not in TOOLS:
        raise UsageError(f"unknown tool {tool!r}", f"use one of: {', '.join(TOOLS)}")


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r}", f"use one of: {', '.join(MODES)}")


def tool_arguments(
    tool: str, mode: str, model: str | None, include_dirs: Sequence[Path]
) -> list[str]:
    """The arguments after the executable's name, for one tool and mode."""
    check_tool(tool)
    check_mode(mode)
    args = [*_HEAD.get(tool, ()), *MODE_FLAGS[tool][mode]]
    if model:
        args += ["--model", model]
    for folder in include_dirs:
        args += [_INCLUDE_FLAG[tool], str(folder)]
    return [*args, *_TAIL.get(tool, ())]


def tool_environment(tool: str, base: Mapping[str, str]) -> dict[str, str]:
    """``base`` plus the variables the tool needs to run headless; ``base`` wins on conflict."""
    return {**_TOOL_ENV.get(tool, {}), **base}


def install_hint(tool: str) -> str:
    return f"install it with `npm install -g {INSTALL_PACKAGES[tool]}`, or put `{tool}` on PATH"
