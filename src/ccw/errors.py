"""User-facing errors: one readable message, the fix, a stable ``kind`` and an exit code.

The CLI prints a ``CcwError`` as one message and exits with its ``exit_code``; a call records
its ``kind`` as ``errorKind``; the HTTP server maps the ``kind`` to a status
(``ccw.server.app.STATUS_BY_KIND``). Anything else is a bug and may show a traceback.

The hierarchy (``kind`` in brackets; exit code after the colon):

* CcwError [ccw]: 1
  x ConfigError [config]: 3
    + BusyError [busy]: 3, carries ``retry_after``
  x NotFoundError [not_found]: 4
  x ConflictError [conflict]: 2
  x UsageError [usage]: 2
  x MissingKeyError [missing_key]: 10 (``ccw.config.secrets``)
    + EnvNotAllowedError [env_not_allowed]: 3
  x DisabledError [disabled]: 3 (``ccw.exec.target``)
  x BudgetExceeded [budget]: 17 (``ccw.exec.budget``)
  x ProviderFault [the fault's name]: the fault's code (``ccw.exec.faults``); its ``fault``
    is a ``FaultKind``: authentication, rate_limit, bad_request, not_found, server_error,
    timeout, unreachable, stream_cut, bad_response, redirect_refused, redirect_loop
  x errors of the tools, the local model, the cache and the history, beside their modules
"""

from __future__ import annotations


class ExitCode:
    """Documented exit codes of ``ccw`` (see README)."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    CONFIG = 3
    NOT_FOUND = 4
    AUTH = 10
    RATE_LIMIT = 11
    BAD_REQUEST = 12
    SERVER_ERROR = 13
    TIMEOUT = 14
    UNREACHABLE = 15
    STREAM_CUT = 16
    BUDGET = 17
    TOOL_MISSING = 20
    INTERRUPTED = 130


class CcwError(Exception):
    """An error caused by input, configuration or the environment, not by a bug.

    ``kind`` is a stable snake_case name: what a call records as ``errorKind`` and what the
    server maps to an HTTP status.
    """

    kind: str = "ccw"
    exit_code: int = ExitCode.FAILURE

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.fix}" if self.fix else self.message


class ConfigError(CcwError):
    """The config file is missing, corrupt or invalid."""

    kind = "config"
    exit_code = ExitCode.CONFIG


class NotFoundError(CcwError):
    """An id that names no provider, endpoint, cache entry or history record."""

    kind = "not_found"
    exit_code = ExitCode.NOT_FOUND


class ConflictError(CcwError):
    """An id that already exists."""

    kind = "conflict"
    exit_code = ExitCode.USAGE


class UsageError(CcwError):
    """Bad arguments or bad field values."""

    kind = "usage"
    exit_code = ExitCode.USAGE


class BusyError(ConfigError):
    """The config file is locked by another process for longer than ccw waits.

    ``retry_after`` (seconds) is sent as the HTTP ``Retry-After`` header.
    """

    kind = "busy"

    def __init__(self, message: str, fix: str | None = None, retry_after: int = 2) -> None:
        super().__init__(message, fix)
        self.retry_after = retry_after


class BudgetExceeded(CcwError):
    """A call refused before it was sent: its estimated cost would take a budget past its
    hard cap, or is more than ``--max-cost``. The message names the budget, where it is set,
    what was spent and the cap; the fix how to raise it."""

    kind = "budget"
    exit_code = ExitCode.BUDGET
