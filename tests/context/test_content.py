"""What is left out by content and by limits, and how packs are written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ccw.context.api import ContextResult
from ccw.context.packing import NOTHING_PACKED
from ccw.errors import CcwError

from .conftest import Tree

Pack = Callable[..., ContextResult]

# A file longer than common sniffing prefixes, with a multi-byte character across 8 KiB.
MULTIBYTE = ("a" * 8191 + "é" + "ü" * 5000 + "\n").encode()
AWS = "AKIA" + "Q3EXAMPLEQ3EXAMP"
GITHUB = "ghp_" + "x1" * 18


def reasons(result: ContextResult) -> dict[str, str]:
    return {item.path: item.reason for item in result.skipped}


def test_binary_and_multibyte_files(tree: Callable[[Tree], Path], pack: Pack) -> None:
    root = tree(
        {
            "img.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "latin1.txt": "caf\xe9 cr\xe8me".encode("latin-1"),
            "utf8.txt": MULTIBYTE,
            "emoji.md": "👍 fine\n",
        }
    )
    result = pack("@*", root, use_cache=False)
    assert [item.path for item in result.files] == ["emoji.md", "utf8.txt"]
    assert reasons(result) == {
        "img.png": "binary (NUL byte)",
        "latin1.txt": "binary (not UTF-8 text)",
    }
    assert "\x00" not in result.pack
    assert MULTIBYTE.decode() in result.pack


def test_secret_firewall(tree: Callable[[Tree], Path], pack: Pack) -> None:
    root = tree(
        {
            ".env": "OPENAI_API_KEY=whatever\n",
            ".env.production": "X=1\n",
            ".env.example": "OPENAI_API_KEY=\n",
            "server.pem": "certificate\n",
            "deploy/id_rsa": "key\n",
            "settings.py": f'AWS_KEY = "{AWS}"\n',
            "ci.yml": f"token: {GITHUB}\n",
            "key.txt": "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n",
            "ok.py": "print('fine')\n",
        }
    )
    result = pack("@**", root, use_cache=False)
    assert [item.path for item in result.files] == [".env.example", "ok.py"]
    found = reasons(result)
    assert set(found) == {
        ".env",
        ".env.production",
        "server.pem",
        "deploy/id_rsa",
        "settings.py",
        "ci.yml",
        "key.txt",
    }
    assert "AWS access key" in found["settings.py"]
    assert "GitHub token" in found["ci.yml"]
    assert "private key block" in found["key.txt"]
    text = repr(result)
    assert AWS not in text and GITHUB not in text and "MIIE" not in text
    only_secrets = pack("@.env @settings.py", root, use_cache=False)
    assert only_secrets.files == [] and only_secrets.pack == ""
    assert only_secrets.warnings == [NOTHING_PACKED]
    allowed = pack("@**", root, use_cache=False, allow_secrets=True)
    assert len(allowed.files) == 9
    assert AWS in allowed.pack


def test_secrets_never_reach_the_store(
    tmp_path: Path, tree: Callable[[Tree], Path], pack: Pack
) -> None:
    root = tree({"settings.py": f'AWS_KEY = "{AWS}"\n', "ok.py": "x = 1\n"})
    result = pack("@*.py", root)
    assert result.session_id is not None
    database = (tmp_path / "cache" / "context.db").read_bytes()
    assert AWS.encode() not in database
    assert b"x = 1" in database


def test_limits_leave_files_out_whole(tree: Callable[[Tree], Path], pack: Pack) -> None:
    root = tree({"a.txt": "a" * 600, "b.txt": "b" * 600, "big.txt": "x" * 3000, "c.txt": "c" * 10})
    result = pack("@*.txt", root, use_cache=False, max_total_bytes=1000, max_file_bytes=2000)
    assert [item.path for item in result.files] == ["a.txt", "c.txt"]
    assert reasons(result) == {
        "b.txt": "total size limit of 1000 bytes reached",
        "big.txt": "larger than the per-file limit of 1 KB",
    }
    assert "b" * 600 not in result.pack and "a" * 600 in result.pack
    counted = pack("@*.txt", root, use_cache=False, max_files=2)
    assert [item.path for item in counted.files] == ["a.txt", "b.txt"]
    assert counted.left_out == {"file count limit (2) reached": 2}
    assert reasons(counted) == {}


def test_on_overflow_fail_is_an_error(tree: Callable[[Tree], Path], pack: Pack) -> None:
    root = tree({"a.txt": "a" * 600, "b.txt": "b" * 600})
    with pytest.raises(CcwError, match=r"b\.txt does not fit"):
        pack("@*.txt", root, max_total_bytes=1000, on_overflow="fail")


def test_formats_are_deterministic_and_unambiguous(
    tree: Callable[[Tree], Path], pack: Pack
) -> None:
    root = tree(
        {
            "a.md": "Use ```python\ncode\n``` and ````x````\n",
            "tricky.txt": 'ends with </file>\n<file path="fake">\n',
            "z & <q>.txt": "no newline at end",
        }
    )
    xml = pack("@*", root, use_cache=False)
    assert xml.pack == (
        "<files>\n"
        '<file path="a.md"><![CDATA[\nUse ```python\ncode\n``` and ````x````\n]]></file>\n'
        '<file path="tricky.txt"><![CDATA[\nends with </file>\n<file path="fake">\n]]></file>\n'
        '<file path="z &amp; &lt;q>.txt"><![CDATA[\nno newline at end]]></file>\n'
        "</files>\n"
    )
    markdown = pack("@*", root, use_cache=False, fmt="markdown")
    assert markdown.pack.startswith("## a.md\n\n`````markdown\nUse ```python")
    assert "\n`````\n\n## tricky.txt\n\n```text\nends" in markdown.pack
    plain = pack("@*", root, use_cache=False, fmt="plain")
    assert plain.pack.startswith("=== FILE: a.md ===\nUse ```python")
    assert plain.pack.endswith(
        "=== END FILE ===\n\n=== FILE: z & <q>.txt ===\nno newline at end\n=== END FILE ===\n"
    )
    again = pack("@*", root, use_cache=False)
    assert again.pack == xml.pack
    assert xml.final_prompt() == xml.pack + "\n\n---\n\n" + "*"


def test_tokens_estimated_from_bytes(tree: Callable[[Tree], Path], pack: Pack) -> None:
    root = tree({"a.txt": "x" * 400})
    result = pack("@a.txt", root, use_cache=False)
    assert result.files[0].tokens == 100
    assert result.total_tokens > 100
