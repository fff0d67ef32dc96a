"""The secret set of a call holds every apiKeys[] entry, enabled or not, and ${VAR} values."""

from __future__ import annotations

import pytest

from ccw.config.schema import Provider
from ccw.exec.redact import credential_set, scrub


def _provider() -> Provider:
    return Provider.model_validate(
        {
            "id": "multi",
            "name": "multi",
            "type": "openai",
            "apiKey": "",
            "apiKeys": [
                {"id": "a", "key": "sk-first-key-0123456789"},
                {"id": "b", "key": "sk-second-key-9876543210", "enabled": False},
                {"id": "c", "key": "${CCW_TEST_REDACT_KEY}"},
                {"id": "d", "key": "${CCW_TEST_UNSET_KEY}"},
            ],
        }
    )


def test_every_api_keys_entry_is_kept_out_of_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCW_TEST_REDACT_KEY", "sk-from-env-5555555555")
    monkeypatch.delenv("CCW_TEST_UNSET_KEY", raising=False)
    secrets = credential_set(None, _provider(), {})
    echoed = (
        "401: bad keys sk-first-key-0123456789, sk-second-key-9876543210 "
        "and Bearer sk-from-env-5555555555"
    )
    shown = scrub(echoed, secrets) or ""
    for secret in ("sk-first-key-0123456789", "sk-second-key-9876543210", "sk-from-env-5555555555"):
        assert secret not in shown
    assert "sk-…6789" in shown and "401: bad keys" in shown
