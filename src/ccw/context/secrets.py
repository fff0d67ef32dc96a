"""The secret firewall: files that hold keys are left out before anything is packed or stored.

Two checks. By name (no read needed, any letter case): ``.env*``, ``*.pem``, ``*.key``,
``id_rsa*``, the system's password files (``shadow``, ``master.passwd``...) and the
credential files of common tools and cloud CLIs. By content: a private key block or a token
with a well-known shape. Only the kind of secret is reported, never the value.

A private key block is key-shaped: ``PRIVATE KEY`` (or ``PRIVATE KEY BLOCK``), a run of at
least three dashes (ASCII or any Unicode dash), then, after blanks or escaped newlines, the
first character of a base64 body. Code and prose that only name the header (``if line ==
"-----BEGIN PRIVATE KEY-----"``) are not flagged. A base64-encoded key block (a kube config's
``client-key-data``, a key pasted through ``base64``) is recognised by the encoding of
`` PRIVATE KEY`` at each of its three byte alignments.

The content check runs four regexes whose every branch starts with the same literal byte, so
the regex engine skips to that byte in C; a one-byte guard beside it (``k`` must be followed
by ``-``, ``.`` or ``F``) rejects almost every occurrence, and lookbehinds then check the
shape around the rest: the scan stays near memory speed (Django's 36 MB of text: 88 ms, 110
without the guards). One combined regex, or a character class as the first step, makes
Python's engine try every position: three times slower; a ``bytes.find`` of each shape's
literal anchors is a pass per anchor: four times slower.
"""

from __future__ import annotations

import re

_ENV = ".env*"
_CREDENTIALS = "credentials file"
_SYSTEM = "system password file"

# Exact base names, compared in lower case.
_NAMES: dict[str, str] = {
    ".env": _ENV,
    ".envrc": _ENV,
    ".netrc": ".netrc",
    "_netrc": ".netrc",
    ".pgpass": ".pgpass",
    ".pypirc": ".pypirc",
    ".npmrc": ".npmrc",
    ".htpasswd": ".htpasswd",
    ".git-credentials": ".git-credentials",
    ".my.cnf": _CREDENTIALS,
    ".boto": _CREDENTIALS,
    ".s3cfg": _CREDENTIALS,
    ".vault-token": _CREDENTIALS,
    ".dockercfg": _CREDENTIALS,
    "credentials": _CREDENTIALS,
    "credentials.json": _CREDENTIALS,
    "credentials.db": _CREDENTIALS,
    "credentials.tfrc.json": _CREDENTIALS,
    "access_tokens.db": _CREDENTIALS,
    "application_default_credentials.json": _CREDENTIALS,
    "accesstokens.json": _CREDENTIALS,
    "msal_token_cache.json": _CREDENTIALS,
    "kubeconfig": _CREDENTIALS,
    "secrets.yml": _CREDENTIALS,
    "secrets.yaml": _CREDENTIALS,
    "secrets.json": _CREDENTIALS,
    "shadow": _SYSTEM,
    "shadow-": _SYSTEM,
    "gshadow": _SYSTEM,
    "gshadow-": _SYSTEM,
    "master.passwd": _SYSTEM,
    "spwd.db": _SYSTEM,
}
_SAFE_NAMES = frozenset({".env.example", ".env.sample", ".env.template", ".env.dist"})
_PREFIXES: dict[str, str] = {
    ".env.": _ENV,
    "id_rsa": "id_rsa*",
    "id_dsa": "id_dsa*",
    "id_ecdsa": "id_ecdsa*",
    "id_ed25519": "id_ed25519*",
}
_PREFIX_TUPLE = tuple(_PREFIXES)
_EXTENSIONS: dict[str, str] = {
    **{ext: "*." + ext for ext in ("pem", "key", "p12", "pfx", "jks", "keystore", "kdbx", "ppk")},
    "tfstate": "*.tfstate",
    "credentials": _CREDENTIALS,
}
# Generic names that hold credentials inside a tool's own folder (``~/.kube/config``).
_PATHS: dict[str, str] = {
    ".kube/config": _CREDENTIALS,
    ".docker/config.json": _CREDENTIALS,
}

# Characters with Unicode's Dash property, the soft hyphen and the hyphen bullet.
_DASHES = (
    "-\u00ad\u058a\u05be\u1400\u1806\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2053"
    "\u207b\u208b\u2212\u2e17\u2e1a\u2e3a\u2e3b\u2e40\u2e5d\u301c\u3030\u30a0\ufe31"
    "\ufe32\ufe58\ufe63\uff0d"
)
_DASH = b"(?:" + b"|".join(re.escape(dash.encode()) for dash in _DASHES) + b")"
_KEY_BODY = rb"(?:[ \t\r\n]|\\[rn])*[A-Za-z0-9+/]"
# Each scan starts from one literal byte that every shape in it contains, the fastest
# search Python's regex engine offers; a one-byte guard next to it (the bytes every shape
# of the scan can have there) rejects most occurrences of that byte at once, and only then
# do the lookbehinds check the shape around it.
# The base64 forms of " PRIVATE KEY" at byte offsets 0, 1 and 2 (mod 3) hold the stable
# runs IFBSSVZBVEUgS0VZ, BQUklWQVRFIEtFW and gUFJJVkFURSBLRVk.
_SCANS: tuple[tuple[re.Pattern[bytes], tuple[str, ...]], ...] = (
    (
        re.compile(
            rb"I(?=[VAzFE])(?:(?<=PRI)(VATE KEY(?: BLOCK)?" + _DASH + rb"{3,}" + _KEY_BODY + rb")"
            rb"|(?<=A[KS]I)(A[0-9A-Z]{16})(?![0-9A-Za-z])"
            rb"|(?<=AI)(za[0-9A-Za-z_-]{35})"
            rb"|(FBSSVZBVEUgS0VZ|(?<=BQUklWQVRFI)EtFW))"
        ),
        ("private key block", "AWS access key", "Google API key", "base64 private key block"),
    ),
    (
        re.compile(
            rb"_(?<=[pousrbfk]_)(?:(?<=gh[pousr]_)([A-Za-z0-9]{36,})"
            rb"|(?<=github_)(pat_[A-Za-z0-9_]{40,})"
            rb"|(?<=\bhf_)([A-Za-z]{34,})"
            rb"|(?<=\b[rs]k_)(live_[0-9A-Za-z]{20,}))"
        ),
        ("GitHub token", "GitHub token", "Hugging Face token", "Stripe key"),
    ),
    (
        re.compile(
            rb"k(?=[-.F])(?:(?<=\bsk)(-ant-[a-z]{3,6}\d\d-[A-Za-z0-9_-]{40,})"
            rb"|(?<=\bsk)(-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,})"
            rb"|(?<=\bsk)(-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})"
            rb"|(?<=hooks\.slack)(\.com/services/T[0-9A-Z]+/B[0-9A-Z]+/[0-9A-Za-z]+)"
            rb"|(?<=gUFJJVk)(FURSBLRVk))"
        ),
        ("Anthropic key", "OpenAI key", "OpenAI key", "Slack webhook", "base64 private key block"),
    ),
    (
        re.compile(rb"x(?=[abposr]-)(?<=\bxox)([abposr]-[0-9A-Za-z-]{10,})"),
        ("Slack token",),
    ),
)


def secret_name(path: str) -> str | None:
    """The kind of secret file ``path`` is, or None.

    ``path`` is a base name or a relative path with ``/`` separators; a relative path also
    lets the rules for generic names inside a tool's folder apply (``.kube/config``).
    """
    folder, _, name = path.lower().rpartition("/")
    _, dot, extension = name.rpartition(".")
    kind = _NAMES.get(name) or (_EXTENSIONS.get(extension) if dot else None)
    if kind is not None or name in _SAFE_NAMES:
        return kind
    if name.startswith(_PREFIX_TUPLE):
        return next(kind for prefix, kind in _PREFIXES.items() if name.startswith(prefix))
    if name.startswith("service-account") and name.endswith(".json"):
        return _CREDENTIALS
    return _PATHS.get(folder.rpartition("/")[2] + "/" + name) if folder else None


def secret_content(data: bytes) -> str | None:
    """The kind of the first secret found in ``data``, or None. The value is never returned."""
    for pattern, kinds in _SCANS:
        match = pattern.search(data)
        if match is not None:
            return kinds[(match.lastindex or 1) - 1]
    return None
