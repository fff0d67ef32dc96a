"""The secret firewall: files that hold keys are left out before anything is packed or stored.

Two checks. By name (no read needed): ``.env*``, ``*.pem``, ``*.key``, ``id_rsa*`` and other
key and credential files. By content: a private key block or a token with a well-known
shape. Only the kind of secret is reported, never the value. The content check scans
bytes with one regex whose every branch starts with a literal, so it stays near memory speed.
"""

from __future__ import annotations

import fnmatch
import re

_NAME_RULES: tuple[tuple[str, str], ...] = (
    (".env", ".env*"),
    (".env.*", ".env*"),
    (".envrc", ".env*"),
    ("*.pem", "*.pem"),
    ("*.key", "*.key"),
    ("*.p12", "*.p12"),
    ("*.pfx", "*.pfx"),
    ("*.jks", "*.jks"),
    ("*.keystore", "*.keystore"),
    ("*.kdbx", "*.kdbx"),
    ("*.ppk", "*.ppk"),
    ("id_rsa*", "id_rsa*"),
    ("id_dsa*", "id_dsa*"),
    ("id_ecdsa*", "id_ecdsa*"),
    ("id_ed25519*", "id_ed25519*"),
    (".netrc", ".netrc"),
    ("_netrc", ".netrc"),
    (".pgpass", ".pgpass"),
    (".pypirc", ".pypirc"),
    (".npmrc", ".npmrc"),
    (".htpasswd", ".htpasswd"),
    ("credentials", "credentials file"),
    ("credentials.json", "credentials file"),
    ("*.credentials", "credentials file"),
    ("service-account*.json", "credentials file"),
    ("secrets.yml", "credentials file"),
    ("secrets.yaml", "credentials file"),
    ("secrets.json", "credentials file"),
)
_SAFE_NAMES = frozenset({".env.example", ".env.sample", ".env.template", ".env.dist"})
_NAME_RE = re.compile(
    "|".join(f"(?P<n{i}>{fnmatch.translate(glob)})" for i, (glob, _) in enumerate(_NAME_RULES))
)

# Each scan starts from one literal byte that every shape in it contains, the fastest
# search Python's regex engine offers; the lookbehinds then check the shape around it.
_SCANS: tuple[tuple[re.Pattern[bytes], tuple[str, ...]], ...] = (
    (
        re.compile(
            rb"I(?:(?<=PRI)(VATE KEY-----|VATE KEY BLOCK-----)"
            rb"|(?<=A[KS]I)(A[0-9A-Z]{16})(?![0-9A-Za-z])"
            rb"|(?<=AI)(za[0-9A-Za-z_-]{35}))"
        ),
        ("private key block", "AWS access key", "Google API key"),
    ),
    (
        re.compile(
            rb"h(?:(?<=gh)([pousr]_[A-Za-z0-9]{36,})"
            rb"|(?<=gith)(ub_pat_[A-Za-z0-9_]{40,})"
            rb"|(?<=\bh)(f_[A-Za-z]{34,})"
            rb"|(ooks\.slack\.com/services/T[0-9A-Z]+/B[0-9A-Z]+/[0-9A-Za-z]+))"
        ),
        ("GitHub token", "GitHub token", "Hugging Face token", "Slack webhook"),
    ),
    (
        re.compile(
            rb"k(?:(?<=\bsk)(-ant-[a-z]{3,6}\d\d-[A-Za-z0-9_-]{40,})"
            rb"|(?<=\bsk)(-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,})"
            rb"|(?<=\bsk)(-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})"
            rb"|(?<=\b[rs]k)(_live_[0-9A-Za-z]{20,}))"
        ),
        ("Anthropic key", "OpenAI key", "OpenAI key", "Stripe key"),
    ),
    (
        re.compile(rb"x(?<=\bxox)([abposr]-[0-9A-Za-z-]{10,})"),
        ("Slack token",),
    ),
)


def secret_name(name: str) -> str | None:
    """The kind of secret file ``name`` (a base name) is, or None."""
    if name in _SAFE_NAMES:
        return None
    match = _NAME_RE.fullmatch(name)
    if match is None or match.lastgroup is None:
        return None
    return _NAME_RULES[int(match.lastgroup[1:])][1]


def secret_content(data: bytes) -> str | None:
    """The kind of the first secret found in ``data``, or None. The value is never returned."""
    for pattern, kinds in _SCANS:
        match = pattern.search(data)
        if match is not None:
            return kinds[(match.lastindex or 1) - 1]
    return None
