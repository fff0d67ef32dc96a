"""``ccw cli`` in process (typer's runner): how the CLI renders a call's events, with the mock
executor routed in, and what ``--dry-run --json`` reports as the model."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ccw.cli.app import app
from ccw.errors import CcwError
from ccw.exec import events, router
from ccw.exec.executor import Executor, Request
from ccw.exec.mock import MockExecutor
from ccw.exec.run import RunOptions, execute, plan
from ccw.result import ExecutionResult
from tests.cli.conftest import SECRET, endpoint, provider, write_config
from tests.fakes.provider_server import ProviderServer


@pytest.fixture
def in_project(
    data_dir: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    monkeypatch.chdir(project)
    monkeypatch.setenv("NO_COLOR", "1")
    yield CliRunner()
    gc.enable()  # ``ccw cli`` turns the collector off for its one call


class _Talkative(MockExecutor):
    """Reports a status and a warning before its answer, as the LiteLLM executor may."""

    def run(self, request: Request, on_event: events.OnEvent) -> ExecutionResult:
        on_event(events.Status("started the local model"))
        on_event(events.Warning("the key is literal"))
        return super().run(request, on_event)


def _route_to(monkeypatch: pytest.MonkeyPatch, executor: Executor) -> None:
    monkeypatch.setattr(router, "executor_for", lambda *_, **__: executor)


def test_answer_to_stdout_and_events_to_stderr(
    in_project: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    _route_to(monkeypatch, _Talkative(chunks=["an ", "answer"]))
    done = in_project.invoke(app, ["cli", "-p", "question"])
    assert done.exit_code == 0, done.stderr
    assert done.stdout == "an answer\n"
    assert "started the local model" in done.stderr
    assert "warning: the key is literal" in done.stderr
    assert "mock" in done.stderr  # the summary names the endpoint


def test_json_prints_only_the_result(
    in_project: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    _route_to(monkeypatch, MockExecutor(chunks=["streamed"]))
    done = in_project.invoke(app, ["cli", "-p", "question", "--json"])
    assert done.exit_code == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["output"], result["model"], result["endpointId"]) == (
        "streamed",
        "mock-model",
        "mock",
    )


def test_a_failed_call_exits_with_its_code(
    in_project: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    fault = CcwError("the mock failed", "try again")
    fault.exit_code = 13
    _route_to(monkeypatch, MockExecutor(fault=fault))
    done = in_project.invoke(app, ["cli", "-p", "question"])
    assert done.exit_code == 13
    assert "the mock failed" in done.stderr and "fix: try again" in done.stderr


def test_dry_run_reports_the_local_model_as_configured(in_project: CliRunner) -> None:
    done = in_project.invoke(app, ["cli", "-p", "hello", "--dry-run", "--json"])
    assert done.exit_code == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["endpointId"], shown["model"], shown["provider"]) == (
        "local",
        "smollm2-135m",  # not LiteLLM's routing string, openai/smollm2-135m
        "local",
    )


def test_dry_run_and_a_real_call_report_the_same_model(
    data_dir: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_OPENAI_KEY", SECRET)
    with ProviderServer() as server:
        config = write_config(
            project,
            {
                "providers": [
                    provider("oai", "openai", server.url + "/v1", apiKey="${TEST_OPENAI_KEY}")
                ],
                "endpoints": [endpoint("gpt", "oai", maxTokens=16)],
                "defaultEndpoint": "gpt",
            },
        )
        options = RunOptions(prompt="hello", cwd=project, config=config, record=False)
        planned = plan(options)
        called = execute(options)
    assert called.success, called.error
    assert planned.model == called.model == "gpt-4o"
    assert (planned.provider, planned.endpoint_id) == (called.provider, called.endpoint_id)
