"""The gateway token: made once, kept 0600, shown by ``ccw serve token``, required on /v1."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx

from ccw.server.gateway.token import gateway_token, token_path
from tests.conftest import RunCcw
from tests.gateway.conftest import Gateway


def test_ccw_serve_token_shows_the_token_the_gateway_wants(
    gateway: Gateway, run_ccw: RunCcw
) -> None:
    shown = run_ccw("serve", "token")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == gateway.token
    where = run_ccw("serve", "token", "--path").stdout.strip()
    assert Path(where) == token_path()
    assert stat.S_IMODE(Path(where).stat().st_mode) == 0o600
    models = httpx.get(
        gateway.v1 + "/models",
        headers={"Authorization": f"Bearer {shown.stdout.strip()}"},
        trust_env=False,
    )
    assert models.status_code == 200


def test_the_token_is_made_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "gateway-token"
    first = gateway_token(path)
    assert first.startswith("ccw-") and len(first) > 40
    assert gateway_token(path) == first
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert gateway_token(tmp_path / "other") != first


def test_ccw_serve_token_imports_neither_litellm_nor_the_server(run_ccw: RunCcw) -> None:
    done = run_ccw("serve", "token", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert done.returncode == 0, done.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()]
    assert "ccw.server.gateway.token" in imported
    assert not [name for name in imported if name.startswith(("litellm", "fastapi"))]
