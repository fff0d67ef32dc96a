"""The secret firewall against evasions: letter case, system files named explicitly, key
blocks wrapped in base64 or written with Unicode dashes; and against false alarms."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

from ccw.context.api import ContextResult
from ccw.context.secrets import secret_name
from tests.conftest import RunCcw

from .conftest import Tree, write_tree

Pack = Callable[..., ContextResult]

BODY = "MIIEpAIBAAKCAQEAwJ3Jq2bUFYxMBd0t8tV5TOPSECRETBODY"
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{BODY}\n-----END RSA PRIVATE KEY-----\n"
HEAD = f"-----BEGIN RSA PRIVATE KEY-----\n{BODY}\n"


def reasons(result: ContextResult) -> dict[str, str]:
    return {item.path: item.reason for item in result.skipped}


def packed(result: ContextResult) -> list[str]:
    return [item.path for item in result.files]


def test_names_match_in_any_letter_case(tree: Callable[[Tree], Path], pack: Pack) -> None:
    root = tree(
        {
            ".ENV": "A=1\n",
            ".Env.Local": "A=1\n",
            "Key.PEM": "x\n",
            "deploy/ID_RSA": "x\n",
            "Server.KEY": "x\n",
            "CREDENTIALS": "x\n",
            ".ENV.EXAMPLE": "A=\n",
            "ok.py": "x = 1\n",
        }
    )
    result = pack("@**", root, use_cache=False)
    assert packed(result) == [".ENV.EXAMPLE", "ok.py"]
    assert set(reasons(result)) == {
        ".ENV",
        ".Env.Local",
        "Key.PEM",
        "deploy/ID_RSA",
        "Server.KEY",
        "CREDENTIALS",
    }


SYSTEM_FILES: Tree = {
    "etc/shadow": "root:$6$salt$hash:19000:0:99999:7:::\n",
    "etc/gshadow": "root:*::\n",
    "etc/master.passwd": "root:$2b$hash:0:0::0:0:Charlie &:/root:/bin/sh\n",
    "home/.netrc": "machine example.com login me password hunter2\n",
    "home/.pgpass": "localhost:5432:*:me:hunter2\n",
    "home/.git-credentials": "https://me:hunter2@example.com\n",
    "home/.aws/credentials": "[default]\naws_secret_access_key = hunter2\n",
    "home/.config/gcloud/application_default_credentials.json": '{"refresh_token": "hunter2"}\n',
    "home/.azure/msal_token_cache.json": '{"AccessToken": "hunter2"}\n',
    "home/.vault-token": "hunter2\n",
    "home/.s3cfg": "secret_key = hunter2\n",
    "home/.my.cnf": "[client]\npassword=hunter2\n",
}


def test_explicit_system_and_cli_credential_files(
    run_ccw: RunCcw, project: Path, tmp_path: Path
) -> None:
    outside = write_tree(tmp_path / "outside", SYSTEM_FILES)
    write_tree(project, {"ok.py": "x = 1\n"})
    patterns = [f"@{outside / rel}" for rel in SYSTEM_FILES]
    done = run_ccw("pack", "--no-cache", "ok.py", *patterns)
    assert done.returncode == 0, done.stderr
    assert "hunter2" not in done.stdout and "$6$" not in done.stdout
    assert "x = 1" in done.stdout
    for rel in SYSTEM_FILES:
        name = rel.rpartition("/")[2]
        assert f"{name}: secret file" in done.stderr, (rel, done.stderr)
    assert "Traceback" not in done.stderr


def test_generic_names_in_a_tool_folder() -> None:
    assert secret_name("home/.kube/config") == "credentials file"
    assert secret_name(".docker/config.json") == "credentials file"
    assert secret_name("app/config") is None
    assert secret_name("config.json") is None
    assert secret_name("shadow.py") is None


def encoded(text: str, offset: int) -> str:
    """``text`` base64-encoded after ``offset`` bytes, so each byte alignment is met."""
    return base64.b64encode(b"#" * offset + text.encode()).decode()


DISGUISED: Tree = {
    "b64_0.txt": encoded(HEAD, 0) + "\n",
    "b64_1.txt": encoded(HEAD, 1) + "\n",
    "b64_2.txt": encoded(HEAD, 2) + "\n",
    "b64_openssh.txt": encoded(HEAD.replace("RSA", "OPENSSH"), 0) + "\n",
    "b64_pkcs8.txt": encoded(HEAD.replace("RSA ", ""), 0) + "\n",
    "kubeconfig.yaml": "users:\n- user:\n    client-key-data: " + encoded(PEM, 0) + "\n",
    "probe.txt": "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVkt\n",
    "hyphen.txt": PEM.replace("-", "\u2010"),
    "en_dash.txt": PEM.replace("-", "\u2013"),
    "minus.txt": PEM.replace("-", "\u2212"),
    "mixed.txt": PEM.replace("KEY-----", "KEY-\u2013\u2212\u2010\ufe63"),
    "service.json": '{"private_key": "' + PEM.replace("\n", "\\n") + '"}\n',
    "one_line.env.txt": "KEY='" + PEM.replace("\n", " ") + "'\n",
    "pgp.asc": "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF\n",
    "encrypted.txt": "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n",
}


def test_key_blocks_in_disguise_are_caught(tree: Callable[[Tree], Path], pack: Pack) -> None:
    root = tree({**DISGUISED, "ok.py": "x = 1\n"})
    result = pack("@*", root, use_cache=False)
    assert packed(result) == ["ok.py"]
    found = reasons(result)
    assert set(found) == set(DISGUISED)
    assert all("private key block" in reason for reason in found.values()), found
    assert BODY not in repr(result)


MENTIONS: Tree = {
    "parse.py": (
        'HEADER = b"-----BEGIN RSA PRIVATE KEY-----\\n"\n'
        "def is_key(line):\n"
        '    return line.startswith("-----BEGIN PRIVATE KEY-----")\n'
    ),
    "docs.md": (
        "Paste the block that starts with BEGIN PRIVATE KEY here.\n\n"
        "```\n-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n```\n"
        "The key - a PRIVATE KEY\u2014never commit it.\n"
    ),
    "template.txt": "-----BEGIN PRIVATE KEY-----\n<your key here>\n-----END PRIVATE KEY-----\n",
    "ca.yaml": "certificate-authority-data: "
    + encoded("-----BEGIN CERTIFICATE-----\nMIIC\n", 0)
    + "\n",
    "cert.txt": "-----BEGIN CERTIFICATE-----\nMIICpDCCAYwCCQ\n-----END CERTIFICATE-----\n",
}


def test_mentions_of_a_key_header_are_packed(tree: Callable[[Tree], Path], pack: Pack) -> None:
    root = tree(MENTIONS)
    result = pack("@*", root, use_cache=False)
    assert reasons(result) == {}
    assert packed(result) == sorted(MENTIONS)


TOKENS = {
    "aws.txt": ("AWS access key", "ASIA" + "Q3EXAMPLEQ3EXAMP"),
    "google.txt": ("Google API key", "AIza" + "x" * 35),
    "github.txt": ("GitHub token", "gho_" + "x1" * 18),
    "github_pat.txt": ("GitHub token", "github_pat_" + "x1" * 20),
    "hf.txt": ("Hugging Face token", "hf_" + "x" * 34),
    "stripe.txt": ("Stripe key", "rk_live_" + "x1" * 10),
    "anthropic.txt": ("Anthropic key", "sk-ant-api03-" + "x1" * 20),
    "openai.txt": ("OpenAI key", "sk-proj-" + "x1" * 20),
    "slack.txt": ("Slack token", "xoxb-" + "1" * 12),
    "webhook.txt": ("Slack webhook", "https://hooks.slack.com/services/T0AB/B0CD/x1y2"),
}


def test_token_shapes(tree: Callable[[Tree], Path], pack: Pack) -> None:
    root = tree({name: f"value = '{token}'\n" for name, (_, token) in TOKENS.items()})
    found = reasons(pack("@*", root, use_cache=False))
    assert {name: reason.split("(")[1].split(")")[0] for name, reason in found.items()} == {
        name: kind for name, (kind, _) in TOKENS.items()
    }
