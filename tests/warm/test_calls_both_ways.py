"""The CLI's end-to-end call tests, run in-process and through a warm server (``run_ccw``
is parametrised in this folder's conftest): the same output, exit codes and requests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_cli_calls import (
    test_auth_failure_is_classified_not_retried_and_hides_the_key,
    test_json_result_shape_for_each_wire_format,
    test_missing_variable_names_it_and_sends_nothing,
    test_prompt_from_stdin_and_no_stream,
    test_streams_answer_to_stdout_and_status_to_stderr,
    test_unknown_endpoint_suggests_near_ids,
)
from tests.conftest import RunCcw
from tests.warm.conftest import Warm

# A warm server per test, and each call a ccw process: slow on a loaded machine.
pytestmark = pytest.mark.timeout(400)

__all__ = [
    "test_auth_failure_is_classified_not_retried_and_hides_the_key",
    "test_json_result_shape_for_each_wire_format",
    "test_missing_variable_names_it_and_sends_nothing",
    "test_prompt_from_stdin_and_no_stream",
    "test_streams_answer_to_stdout_and_status_to_stderr",
    "test_unknown_endpoint_suggests_near_ids",
]


@pytest.fixture(params=["in-process", "server"])
def run_ccw(
    request: pytest.FixtureRequest, run_ccw: RunCcw, warm_env: dict[str, str], project: Path
) -> Iterator[RunCcw]:
    """tests/conftest's ``run_ccw``, run in-process (CCW_WARM=off) or through a warm server
    that must have served every call."""
    if request.param == "in-process":

        def in_process(*args: str, env: dict[str, str] | None = None, **kw: object) -> object:
            return run_ccw(*args, env={**warm_env, "CCW_WARM": "off", **(env or {})}, **kw)  # type: ignore[arg-type]

        yield in_process  # type: ignore[misc]
        return
    served = Warm(warm_env, project).start()

    def through_server(*args: str, env: dict[str, str] | None = None, **kw: object) -> object:
        before = served.calls()
        done = run_ccw(*args, env={**warm_env, **(env or {})}, **kw)  # type: ignore[arg-type]
        if args[:1] == ("cli",) and "--dry-run" not in args and done.returncode != 2:
            assert served.calls() == before + 1, f"not served warm: {done.stderr}"
        return done

    try:
        yield through_server  # type: ignore[misc]
    finally:
        served.stop()
        assert os.path.exists(warm_env["CCW_RUNTIME_DIR"])
