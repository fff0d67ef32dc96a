"""A broken config file is one readable error naming the file and the field; never rewritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.config.conftest import SPEC_ENDPOINT, SPEC_PROVIDER, spec_example, user_error
from tests.conftest import RunCcw

CONFIG_EXIT_CODE = 3


def _with(path: tuple[str, int, str], value: object) -> str:
    data = spec_example()
    data[path[0]][path[1]][path[2]] = value
    return json.dumps(data, indent=2)


CORRUPT = {
    "bad-json": (json.dumps(spec_example(), indent=2)[:-40], ("not valid JSON", "line")),
    "enabled-maybe": (_with(("endpoints", 0, "enabled"), "maybe"), ("endpoints.0.enabled",)),
    "type-nope": (_with(("providers", 0, "type"), "nope"), ("providers.0.type",)),
}

MUTATING = [
    ("provider", "add", "--type", "openai", "--id", "fresh"),
    ("provider", "update", SPEC_PROVIDER, "--name", "renamed"),
    ("provider", "remove", SPEC_PROVIDER),
    ("endpoint", "add", "fresh", "--provider", SPEC_PROVIDER, "--model", "gpt-4o"),
    ("endpoint", "update", SPEC_ENDPOINT, "--ttl", "5"),
    ("endpoint", "remove", SPEC_ENDPOINT),
    ("endpoint", "default", SPEC_ENDPOINT),
    ("endpoint", "default", "--clear"),
]
READING = [
    ("endpoint", "list", "--json"),
    ("provider", "show", SPEC_PROVIDER, "--json"),
    ("config", "show"),
    ("config", "validate"),
]


@pytest.mark.parametrize("kind", sorted(CORRUPT))
def test_broken_file_is_reported_and_left_untouched(
    run_ccw: RunCcw, config_file: Path, kind: str
) -> None:
    text, field_words = CORRUPT[kind]
    config_file.parent.mkdir(parents=True)
    config_file.write_bytes(text.encode())
    before = sorted(p.name for p in config_file.parent.iterdir())

    for args in MUTATING + READING:
        done = run_ccw(*args)
        user_error(done, str(config_file), *field_words)
        assert done.returncode == CONFIG_EXIT_CODE, (args, done.stderr)
        assert done.stdout == "", (args, done.stdout)
        assert config_file.read_bytes() == text.encode(), args

    after = sorted(p.name for p in config_file.parent.iterdir())
    assert [name for name in after if name not in before and not name.endswith(".lock")] == []
