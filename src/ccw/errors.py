"""User-facing errors: one readable message, the fix, and an exit code.

The CLI prints ``CcwError`` as a single message and exits with its code; the
HTTP server maps it to a status. Anything else is a bug and may show a traceback.
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
    TOOL_MISSING = 20
    INTERRUPTED = 130


class CcwError(Exception):
    """An error caused by input, configuration or the environment, not by a bug."""

    exit_code: int = ExitCode.FAILURE
    status: int = 400

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.fix}" if self.fix else self.message


class ConfigError(CcwError):
    """The config file is missing, corrupt or invalid."""

    exit_code = ExitCode.CONFIG
    status = 422


class NotFoundError(CcwError):
    """An id that names no provider, endpoint, cache entry or history record."""

    exit_code = ExitCode.NOT_FOUND
    status = 404


class ConflictError(CcwError):
    """An id that already exists."""

    exit_code = ExitCode.USAGE
    status = 409


class UsageError(CcwError):
    """Bad arguments or bad field values."""

    exit_code = ExitCode.USAGE
    status = 400


class BusyError(ConfigError):
    """The config file is locked by another process for longer than ccw waits.

    ``retry_after`` (seconds) is sent as the HTTP ``Retry-After`` header.
    """

    status = 503

    def __init__(self, message: str, fix: str | None = None, retry_after: int = 2) -> None:
        super().__init__(message, fix)
        self.retry_after = retry_after
