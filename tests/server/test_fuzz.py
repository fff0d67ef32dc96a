"""Fuzz every operation from its own OpenAPI document: nothing a client sends is a 500, and
every answer (status, content type, body, headers) is one the document describes."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.server.conftest import SECRET, Dashboard

EXAMPLES_PER_MODE = 15
# Every answer must be one the document describes: its status, content type, body and headers.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.mark.timeout(180)
def test_no_server_error_for_any_generated_request(dashboard: Dashboard) -> None:
    dashboard.api("POST", "/providers", json={"id": "p1", "type": "openai", "apiKey": SECRET})
    dashboard.api("POST", "/endpoints", json={"id": "e1", "providerId": "p1", "model": "m"})
    schema = schemathesis.openapi.from_url(dashboard.url + "/openapi.json")
    cases = 0
    failures: dict[str, str] = {}  # one example answer per operation and kind of failure
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if operation.path.endswith("/test"):
            continue  # a real outbound request per case; covered by test_probe
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES_PER_MODE,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case) -> None:
                nonlocal cases
                cases += 1
                response = case.call(base_url=dashboard.url)
                try:
                    case.validate_response(response, checks=CHECKS)
                except FailureGroup as group:
                    for failure in group.exceptions:
                        example = f"{response.status_code} {response.text[:300]}"
                        kind = f"{case.operation.label}: {failure.title}"
                        failures.setdefault(kind, f"{example} <- {case.as_curl_command()}")
                if SECRET in response.text:
                    kind = f"{case.operation.label}: the key in the answer"
                    failures.setdefault(kind, case.as_curl_command())

            try:
                call()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to break in this operation
    assert not failures, "\n".join(f"{kind}: {example}" for kind, example in failures.items())
    assert cases >= 300, cases
