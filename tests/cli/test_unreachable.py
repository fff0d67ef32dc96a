"""An unreachable provider: the URL and the root cause (DNS, refused, TLS), no LiteLLM wording,
and a retry only where a second try can help (a refused port; never a name that does not
resolve). Host names under ``.invalid`` never resolve (RFC 2606): no network is needed."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ccw.exec import events
from ccw.exec.faults import DNS_FAILURE, TLS_FAILURE, UNREACHABLE, classify, connect_failure
from ccw.exec.netcause import diagnose
from ccw.exec.run import RunOptions, execute
from tests.cli.conftest import endpoint, provider, write_config
from tests.conftest import RunCcw
from tests.fakes.ports import free_port
from tests.fakes.provider_server import ProviderServer

NOWHERE = "ccw-test-host.invalid"
LITELLM_WORDS = ("litellm", "Handle with", "InternalServerError", "APIConnectionError", "Errno")


def _error_of(url: str) -> httpx.HTTPError:
    with pytest.raises(httpx.ConnectError) as caught:
        httpx.get(url, timeout=5, trust_env=False)  # no proxy between us and the cause
    return caught.value


# In process: the diagnosis of real httpx errors.


def test_a_name_that_does_not_resolve_is_a_dns_failure() -> None:
    found = diagnose(_error_of(f"http://{NOWHERE}:8080/v1/models?key=abc"))
    assert found is not None
    assert (found.cause, found.address) == ("dns", f"{NOWHERE}:8080")
    assert found.url == f"http://{NOWHERE}:8080/v1/models"  # no query: keys may live there


def test_a_closed_port_is_refused() -> None:
    port = free_port()
    found = diagnose(_error_of(f"http://127.0.0.1:{port}/v1"))
    assert found is not None
    assert (found.cause, found.address) == ("refused", f"127.0.0.1:{port}")


def test_https_to_a_plain_http_server_is_a_tls_failure(server: ProviderServer) -> None:
    plain = server.url.replace("http://", "https://")
    found = diagnose(_error_of(plain + "/v1"))
    assert found is not None
    assert (found.cause, found.tls_code) == ("tls", "WRONG_VERSION_NUMBER")
    assert "_ssl.c" not in found.reason and "[SSL" not in found.reason


def test_other_errors_are_not_connection_failures() -> None:
    assert diagnose(ValueError("Connection refused")) is None
    assert connect_failure(RuntimeError("boom")) is None


def test_each_cause_has_its_own_retry_rule_and_fix(server: ProviderServer) -> None:
    dns = connect_failure(_error_of(f"http://{NOWHERE}/v1"), provider_id="oai")
    refused = connect_failure(_error_of(f"http://127.0.0.1:{free_port()}/v1"), provider_id="oai")
    tls = connect_failure(_error_of(server.url.replace("http:", "https:")), provider_id="oai")
    assert dns is not None and refused is not None and tls is not None
    assert (dns.kind, refused.kind, tls.kind) == (DNS_FAILURE, UNREACHABLE, TLS_FAILURE)
    assert [f.kind.retryable for f in (dns, refused, tls)] == [False, True, False]
    assert {f.kind.name for f in (dns, refused, tls)} == {"unreachable"}
    assert "ccw provider update oai --api-base URL" in dns.fix
    assert "http://" in tls.fix


def test_a_secret_in_the_url_is_masked() -> None:
    secret = "sk-secret-in-host-0123456789"
    failure = connect_failure(_error_of(f"http://{secret}.invalid/v1"), secrets=(secret,))
    assert failure is not None
    assert secret not in failure.detail and "6789" in failure.detail


def test_a_connect_timeout_names_the_address_and_stays_a_timeout() -> None:
    """A firewall that drops packets: no answer while connecting (a built chain, as LiteLLM
    wraps httpx's error; such a host cannot be relied on in a test)."""
    request = httpx.Request("POST", "http://10.255.255.1:8080/v1/chat/completions?key=abc")
    try:
        try:
            raise httpx.ConnectTimeout("timed out", request=request)
        except httpx.ConnectTimeout as inner:
            raise RuntimeError("litellm.Timeout: Request timed out.") from inner
    except RuntimeError as outer:
        fault = classify(outer, where="far")
    assert (fault.kind, fault.exit_code, fault.fault.retryable) == ("timeout", 14, True)
    assert fault.message == (
        "timeout: far: no answer from 10.255.255.1:8080 while connecting for "
        "http://10.255.255.1:8080/v1/chat/completions"
    )
    assert fault.fix is not None and "ccw provider update far --api-base URL" in fault.fix


# In process through ``execute``: every wire format, and no retry of a DNS failure.


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, home: Path) -> None:
    monkeypatch.setenv("CCW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(home))


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize("ptype", ["openai", "anthropic", "ollama"])
def test_a_dns_failure_names_the_url_and_is_not_retried(project: Path, ptype: str) -> None:
    base = f"http://{NOWHERE}" + ("/v1" if ptype == "openai" else "")
    config = write_config(
        project,
        {
            "providers": [
                provider("far", ptype, base, apiKey="sk-test-far-0123456789", maxRetries=3)
            ],
            "endpoints": [endpoint("e", "far", "some-model")],
            "defaultEndpoint": "e",
        },
    )
    seen: list[events.Event] = []
    result = execute(RunOptions(prompt="hi", cwd=project, config=config), seen.append)
    assert (result.success, result.error_kind, result.exit_code) == (False, "unreachable", 15)
    assert result.error is not None and result.fix is not None
    assert f"DNS lookup of {NOWHERE} failed" in result.error
    assert f"http://{NOWHERE}/" in result.error
    assert not any(word in result.error for word in LITELLM_WORDS), result.error
    assert not [e for e in seen if isinstance(e, events.Status) and "retry" in e.text]


# Through the real CLI.


def _project_with(project: Path, base: str, retries: int = 0) -> None:
    write_config(
        project,
        {
            "providers": [provider("far", "openai", base, apiKey="${FAR_KEY}", maxRetries=retries)],
            "endpoints": [endpoint("e", "far")],
            "defaultEndpoint": "e",
        },
    )


def _clean(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert not any(word in stderr for word in LITELLM_WORDS), stderr


def test_cli_dns_failure(run_ccw: RunCcw, project: Path) -> None:
    _project_with(project, f"http://{NOWHERE}/v1", retries=2)
    done = run_ccw("cli", "-p", "hi", env={"FAR_KEY": "sk-test-far-0123456789"})
    assert done.returncode == 15
    assert f"DNS lookup of {NOWHERE} failed" in done.stderr
    assert f"http://{NOWHERE}/v1/chat/completions" in done.stderr
    assert "ccw provider update far --api-base URL" in done.stderr
    assert "retry" not in done.stderr
    _clean(done.stderr)


def test_cli_connection_refused_is_retried(run_ccw: RunCcw, project: Path) -> None:
    port = free_port()
    _project_with(project, f"http://127.0.0.1:{port}/v1", retries=1)
    done = run_ccw("cli", "-p", "hi", env={"FAR_KEY": "sk-test-far-0123456789"})
    assert done.returncode == 15
    assert f"connection refused by 127.0.0.1:{port}" in done.stderr
    assert f"http://127.0.0.1:{port}/v1/chat/completions" in done.stderr
    assert "retry 1/1" in done.stderr
    _clean(done.stderr)


def test_cli_tls_to_a_plain_http_server(
    run_ccw: RunCcw, project: Path, server: ProviderServer
) -> None:
    https = server.url.replace("http://", "https://")
    _project_with(project, https + "/v1", retries=2)
    done = run_ccw("cli", "-p", "hi", env={"FAR_KEY": "sk-test-far-0123456789"})
    assert done.returncode == 15
    assert f"TLS handshake with {https.split('//')[1]} failed" in done.stderr
    assert "use http:// in the provider's apiBase" in done.stderr
    assert "retry" not in done.stderr
    assert not server.requests  # nothing readable reached it
    _clean(done.stderr)
