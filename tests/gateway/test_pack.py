"""``@patterns`` in the last user message: packed only when the client names a project."""

from __future__ import annotations

import json

import httpx

from tests.gateway.conftest import Gateway


def ask(gateway: Gateway, headers: dict[str, str], **extra: object) -> httpx.Response:
    return httpx.post(
        gateway.v1 + "/chat/completions",
        json={
            "model": "gpt",
            "messages": [{"role": "user", "content": "explain @src/util.py"}],
            **extra,
        },
        headers={**gateway.auth, **headers},
        trust_env=False,
        timeout=30,
    )


def test_patterns_pass_unchanged_unless_packing_is_asked(gateway: Gateway) -> None:
    source = gateway.project / "src"
    source.mkdir()
    (source / "util.py").write_text("def helper():\n    return 'PACKED-MARKER-42'\n")

    plain = ask(gateway, {})
    assert plain.status_code == 200, plain.text
    sent = json.dumps(gateway.provider.requests[-1].body)
    assert "PACKED-MARKER-42" not in sent and "@src/util.py" in sent

    by_header = ask(gateway, {"X-CCW-Pack": str(gateway.project)})
    assert by_header.status_code == 200, by_header.text
    assert "PACKED-MARKER-42" in json.dumps(gateway.provider.requests[-1].body)

    by_field = ask(gateway, {}, ccw_pack=str(gateway.project))
    assert by_field.status_code == 200, by_field.text
    assert "PACKED-MARKER-42" in json.dumps(gateway.provider.requests[-1].body)


def test_a_pack_path_that_is_no_folder_is_a_400(gateway: Gateway) -> None:
    got = ask(gateway, {"X-CCW-Pack": str(gateway.project / "missing")})
    assert got.status_code == 400
    assert "is not a directory" in got.json()["error"]["message"]
    assert gateway.provider.requests == []
