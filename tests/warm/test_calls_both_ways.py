"""The CLI's end-to-end call tests, run in-process and through a warm server (``run_ccw``
is parametrised in this folder's conftest): the same output, exit codes and requests."""

from __future__ import annotations

from tests.cli.test_cli_calls import (
    test_auth_failure_is_classified_not_retried_and_hides_the_key,
    test_json_result_shape_for_each_wire_format,
    test_missing_variable_names_it_and_sends_nothing,
    test_prompt_from_stdin_and_no_stream,
    test_streams_answer_to_stdout_and_status_to_stderr,
    test_unknown_endpoint_suggests_near_ids,
)

__all__ = [
    "test_auth_failure_is_classified_not_retried_and_hides_the_key",
    "test_json_result_shape_for_each_wire_format",
    "test_missing_variable_names_it_and_sends_nothing",
    "test_prompt_from_stdin_and_no_stream",
    "test_streams_answer_to_stdout_and_status_to_stderr",
    "test_unknown_endpoint_suggests_near_ids",
]
