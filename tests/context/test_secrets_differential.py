"""The content scan's one-byte guards change no finding: the scanner against the same
patterns without their guards (the scanner as it was), on generated text built from the
pieces of every key shape, and on every text file of this repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ccw.context import secrets

GUARDS = (b"(?=[VAzFE])", b"(?<=[pousrbfk]_)", b"(?=[-.F])", b"(?=[abposr]-)")
REPO = Path(__file__).resolve().parents[2]


def _unguarded() -> list[tuple[re.Pattern[bytes], tuple[str, ...]]]:
    scans = []
    for (pattern, kinds), guard in zip(secrets._SCANS, GUARDS, strict=True):
        assert pattern.pattern.count(guard) == 1
        scans.append((re.compile(pattern.pattern.replace(guard, b"", 1)), kinds))
    return scans


UNGUARDED = _unguarded()


def reference(data: bytes) -> str | None:
    for pattern, kinds in UNGUARDED:
        match = pattern.search(data)
        if match is not None:
            return kinds[(match.lastindex or 1) - 1]
    return None


# Pieces of every shape (and of near misses), joined with runs of key characters.
PIECES = [
    b"PRIVATE KEY",
    b" BLOCK",
    b"-----",
    "\u2013\u2013\u2013".encode(),
    b"\\n",
    b"\n",
    b" ",
    b"MII",
    b"AKIA",
    b"ASIA",
    b"AIza",
    b"ghp_",
    b"gho_",
    b"ghx_",
    b"github_",
    b"pat_",
    b"hf_",
    b"sk_live_",
    b"rk_live_",
    b"sk-ant-api03-",
    b"sk-proj-",
    b"sk-",
    b"T3BlbkFJ",
    b"hooks.slack.com/services/T",
    b"/B",
    b"xoxb-",
    b"xox",
    b"IFBSSVZBVEUgS0VZ",
    b"BQUklWQVRFIEtFW",
    b"gUFJJVkFURSBLRVk",
    b"I",
    b"_",
    b"k",
    b"x",
    b"=",
    b"'",
]
RUN = st.integers(0, 48).flatmap(
    lambda n: st.text("ABCXYZabcxyz0189+/_-", min_size=n, max_size=n).map(str.encode)
)
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), RUN), max_size=24).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_generated_text_gives_the_same_finding(data: bytes) -> None:
    assert secrets.secret_content(data) == reference(data)


def test_every_shape_is_still_found() -> None:
    body = "A" * 40
    samples = {
        b"-----BEGIN RSA PRIVATE KEY-----\nMIIEow": "private key block",
        b"key = AKIA" + b"ABCDEFGHIJKLMNOP": "AWS access key",
        b"AIza" + b"x" * 35: "Google API key",
        b"ghp_" + b"a" * 36: "GitHub token",
        b"github_pat_" + b"a" * 40: "GitHub token",
        b" hf_" + b"a" * 34: "Hugging Face token",
        b" sk_live_" + b"a" * 20: "Stripe key",
        b" sk-ant-api03-" + body.encode(): "Anthropic key",
        b" sk-proj-" + body.encode(): "OpenAI key",
        b" sk-" + b"a" * 20 + b"T3BlbkFJ" + b"b" * 20: "OpenAI key",
        b"hooks.slack.com/services/T0/B0/x": "Slack webhook",
        b" xoxb-0123456789": "Slack token",
        b"LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t": "base64 private key block",
    }
    for data, kind in samples.items():
        assert secrets.secret_content(data) == reference(data) == kind, data


def test_this_repository_gives_the_same_findings() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    compared = 0
    for name in filter(None, listed):
        path = REPO / name.decode("utf-8", "surrogateescape")
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        assert secrets.secret_content(data) == reference(data), path
        compared += 1
    assert compared > 100
