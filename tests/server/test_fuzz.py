"""Fuzz every operation from its own OpenAPI document: nothing a client sends is a 500."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from tests.server.conftest import SECRET, Dashboard

EXAMPLES_PER_MODE = 15


@pytest.mark.timeout(60)
def test_no_server_error_for_any_generated_request(dashboard: Dashboard) -> None:
    dashboard.api("POST", "/providers", json={"id": "p1", "type": "openai", "apiKey": SECRET})
    dashboard.api("POST", "/endpoints", json={"id": "e1", "providerId": "p1", "model": "m"})
    schema = schemathesis.openapi.from_url(dashboard.url + "/openapi.json")
    cases = 0
    failures: list[str] = []
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
                if response.status_code >= 500 or SECRET in response.text:
                    failures.append(
                        f"{case.method} {case.formatted_path} {case.body!r}: "
                        f"{response.status_code} {response.text[:200]}"
                    )

            try:
                call()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to break in this operation
    assert not failures, "\n".join(failures[:10])
    assert cases >= 300, cases
