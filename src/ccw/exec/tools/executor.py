"""``run_tool``: one call of a command-line AI tool, with the same result shape as LiteLLM;
``ToolExecutor``: the same behind the executor seam."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ccw.errors import CcwError, ExitCode, UsageError
from ccw.exec import events
from ccw.exec.executor import Executor, Mode, Request
from ccw.exec.tools.flags import (
    check_mode,
    check_tool,
    install_hint,
    tool_arguments,
    tool_environment,
)
from ccw.exec.tools.process import STDERR_TAIL, ProcessOutcome, run_process
from ccw.result import ExecutionResult

KILL_GRACE_SECONDS = 5.0
# A tool waits forever for a network that is not there; a run has a deadline unless the
# caller gives one. ``CCW_TOOL_TIMEOUT`` (seconds, 0 for none) changes the default.
DEFAULT_TOOL_TIMEOUT_SECONDS = 600.0
TOOL_TIMEOUT_ENV = "CCW_TOOL_TIMEOUT"
MAX_REASON = 300  # characters of the tool's last line quoted in the error


@dataclass
class ToolRequest:
    """What to ask which tool, where, and how much it may do.

    ``env`` adds to (and overrides) this process's environment for the tool; ``None``
    passes the environment through unchanged. Relative ``include_dirs`` are taken from
    ``cwd``.
    """

    tool: str
    prompt: str
    model: str | None = None
    mode: Mode = "analysis"
    cwd: Path = Path(".")
    include_dirs: Sequence[Path] = ()
    timeout: float | None = None
    env: Mapping[str, str] | None = None


class ToolMissingError(CcwError):
    """The tool's executable is not on PATH."""

    kind = "tool_missing"
    exit_code = ExitCode.TOOL_MISSING

    def __init__(self, tool: str) -> None:
        super().__init__(f"{tool} is not installed (no `{tool}` on PATH)", install_hint(tool))
        self.tool = tool


class ToolStartError(CcwError):
    """The executable exists but the operating system refused to start it."""

    kind = "tool_start"
    exit_code = ExitCode.TOOL_MISSING

    def __init__(self, tool: str, path: str, reason: str) -> None:
        super().__init__(
            f"could not start {tool} ({path}): {reason}",
            f"check that {path} is executable, or reinstall {tool}",
        )


class ToolExecutor(Executor):
    """Runs a call with a command-line tool: the prompt (packed only with ``--pack``) on its
    standard input, its answer streamed from its standard output."""

    def __init__(
        self,
        tool: str,
        model: str | None = None,
        *,
        packs: bool = False,
        default_timeout: float | None = None,
    ) -> None:
        """``default_timeout``: the config's ``toolTimeoutSeconds`` (0: none), used when the
        request sets no deadline and ``CCW_TOOL_TIMEOUT`` is not set."""
        self.name = tool
        self.provider = tool
        self.model = model or "default"
        self.packs = packs
        self._tool_model = model  # None: the tool's own default
        self._default_timeout = default_timeout

    def run(self, request: Request, on_event: events.OnEvent) -> ExecutionResult:
        ctx = request.context
        return run_tool(
            ToolRequest(
                tool=self.name,
                prompt=ctx.final_prompt() if ctx else request.prompt,
                model=self._tool_model,
                mode=request.mode,
                cwd=request.cwd,
                include_dirs=request.include_dirs,
                timeout=request.timeout or default_tool_timeout(self._default_timeout),
            ),
            on_output=lambda piece: on_event(events.Text(piece)),
        )


def default_tool_timeout(configured: float | None = None) -> float | None:
    """The deadline of a tool run that sets none: ``CCW_TOOL_TIMEOUT`` seconds, else the
    config's ``toolTimeoutSeconds`` (``configured``), else ``DEFAULT_TOOL_TIMEOUT_SECONDS``;
    0 means no deadline."""
    value = os.environ.get(TOOL_TIMEOUT_ENV, "").strip()
    if not value:
        if configured is not None:
            return configured or None
        return DEFAULT_TOOL_TIMEOUT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        raise UsageError(
            f"{TOOL_TIMEOUT_ENV}={value!r} is not a number of seconds",
            f"set it to seconds, e.g. {TOOL_TIMEOUT_ENV}=1800, or 0 for no deadline",
        )
    return seconds or None


def run_tool(
    request: ToolRequest,
    on_output: Callable[[str], None] | None = None,
    *,
    kill_grace: float = KILL_GRACE_SECONDS,
) -> ExecutionResult:
    """Run the tool with the prompt on stdin; stream its stdout to ``on_output`` as it comes.

    Its stderr passes through to ours. The tool's exit status is passed through in
    ``exit_code``; a timeout ends it (SIGTERM, then SIGKILL after ``kill_grace`` seconds) and
    is reported with ``error_kind="timeout"`` and ``exit_code=ExitCode.TIMEOUT``.
    Raises ``ToolMissingError`` when the tool is not installed and ``UsageError`` for an
    unknown tool or mode or a missing directory.
    """
    check_tool(request.tool)
    check_mode(request.mode)
    cwd = _existing_dir(Path(request.cwd).expanduser().resolve(), "--cd")
    include = [
        _existing_dir(cwd / Path(d).expanduser(), "--include-dirs") for d in request.include_dirs
    ]
    env = tool_environment(request.tool, {**os.environ, **(request.env or {})})
    executable = shutil.which(request.tool, path=env.get("PATH", os.defpath))
    if executable is None:
        raise ToolMissingError(request.tool)
    argv = [executable, *tool_arguments(request.tool, request.mode, request.model, include)]

    started = time.monotonic()
    try:
        outcome = run_process(
            argv,
            stdin=request.prompt.encode("utf-8"),
            cwd=cwd,
            env=env,
            timeout=request.timeout,
            on_output=on_output,
            kill_grace=kill_grace,
        )
    except FileNotFoundError:
        raise ToolMissingError(request.tool) from None
    except OSError as exc:
        raise ToolStartError(request.tool, executable, exc.strerror or str(exc)) from None
    duration_ms = int((time.monotonic() - started) * 1000)

    result = ExecutionResult(
        success=outcome.returncode == 0 and not outcome.timed_out,
        output=outcome.output,
        model=request.model or "default",
        provider=request.tool,
        tool=request.tool,
        mode=request.mode,
        exit_code=outcome.returncode,
        duration_ms=duration_ms,
    )
    if outcome.timed_out:
        result.error_kind = "timeout"
        result.error = _timeout_message(request, outcome, kill_grace)
        result.exit_code = ExitCode.TIMEOUT
        result.fix = (
            f"give it longer with --timeout SECONDS (it had {request.timeout:g}s), "
            f"or set {TOOL_TIMEOUT_ENV} (0: no deadline)"
        )
    elif outcome.returncode != 0:
        result.error_kind = "exit_status"
        result.error = _exit_message(request.tool, outcome)
    return result


def _existing_dir(path: Path, option: str) -> Path:
    resolved = path.resolve()
    if not resolved.is_dir():
        raise UsageError(f"{option} {path} is not a directory", "give an existing directory")
    return resolved


def _timeout_message(request: ToolRequest, outcome: ProcessOutcome, grace: float) -> str:
    how = f"killed after it ignored SIGTERM for {grace:g}s" if outcome.killed else "terminated"
    return f"{request.tool} timed out after {request.timeout:g}s and was {how}"


def _exit_message(tool: str, outcome: ProcessOutcome) -> str:
    """The status and the tool's last word: its last stderr line, else its last stdout line
    (claude prints "Not logged in" on stdout)."""
    detail = _last_line(outcome.stderr_tail) or _last_line(outcome.output[-STDERR_TAIL:])
    return f"{tool} exited with status {outcome.returncode}" + (f": {detail}" if detail else "")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:MAX_REASON] if lines else ""
