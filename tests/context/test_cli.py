"""``ccw pack`` and ``ccw cache`` as a user runs them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ccw.context.pack import PackWriter
from tests.conftest import RunCcw

from .conftest import age, write_tree

CONFIG = Path(".ccw") / "storage" / "config" / "litellm-api-config.json"


def configure(project: Path, cache_dir: Path, **overrides: Any) -> None:
    data: dict[str, Any] = {
        "version": 1,
        "providers": [{"id": "p1", "type": "openai", "apiKey": "${OPENAI_API_KEY}"}],
        "endpoints": [
            {
                "id": "no-cache",
                "providerId": "p1",
                "model": "gpt-4o",
                "cacheStrategy": {"enabled": False},
            },
            {
                "id": "md-only",
                "providerId": "p1",
                "model": "gpt-4o",
                "cacheStrategy": {"ttlMinutes": 5, "maxSizeKB": 1, "filePatterns": ["*.md"]},
            },
        ],
        "globalCacheSettings": {"enabled": True, "cacheDir": str(cache_dir), "maxTotalSizeMB": 10},
    }
    data["globalCacheSettings"].update(overrides)
    path = project / CONFIG
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@pytest.fixture
def files(project: Path, tmp_path: Path) -> Path:
    write_tree(
        project,
        {
            "src/a.py": "a = 1\n",
            "src/b.py": "b = 2\n",
            "docs/my notes.md": "# notes\n",
            "README.md": "readme\n",
            ".env": "OPENAI_API_KEY=sk-not-for-the-pack\n",
        },
    )
    configure(project, tmp_path / "cache")
    age(project)
    return project


def expected_pack(fmt: str, files: list[tuple[str, str]]) -> str:
    """What the pack writer makes of these files (the format itself is tested elsewhere)."""
    out = io.BytesIO()
    writer = PackWriter(fmt, out)
    for path, content in files:
        writer.add(path, content.encode())
    writer.close()
    return out.getvalue().decode()


def stats(run_ccw: RunCcw) -> dict[str, Any]:
    done = run_ccw("cache", "stats", "--json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_pack_to_stdout_with_summary_on_stderr(run_ccw: RunCcw, files: Path) -> None:
    done = run_ccw("pack", "src/*.py", "@README.md", "docs/my notes.md", ".env")
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected_pack(
        "xml",
        [
            ("src/a.py", "a = 1\n"),
            ("src/b.py", "b = 2\n"),
            ("README.md", "readme\n"),
            ("docs/my notes.md", "# notes\n"),
        ],
    )
    assert "sk-not-for-the-pack" not in done.stdout + done.stderr
    assert "skipped .env: secret file" in done.stderr
    assert "4 files" in done.stderr
    again = run_ccw("pack", "src/*.py", "@README.md", "docs/my notes.md", ".env")
    assert again.stdout == done.stdout
    assert "(cache ctx-" in again.stderr
    assert stats(run_ccw) | {"cacheDir": None} == {
        "enabled": True,
        "entries": 1,
        "totalBytes": stats(run_ccw)["totalBytes"],
        "maxBytes": 10 * 1024 * 1024,
        "hits": 1,
        "misses": 1,
        "expired": 0,
        "cacheDir": None,
    }


def test_pack_to_a_file_in_markdown_and_as_json(run_ccw: RunCcw, files: Path) -> None:
    done = run_ccw("pack", "README.md", "--format", "markdown", "-o", "out.md")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert (files / "out.md").read_text() == expected_pack("markdown", [("README.md", "readme\n")])
    for _ in range(2):
        whole = run_ccw("pack", ".", "-o", "pack.xml")
        assert whole.returncode == 0, whole.stderr
        assert "pack.xml" not in (files / "pack.xml").read_text()
    as_json = run_ccw("pack", "src/*.py", "--json", "--format", "plain")
    data = json.loads(as_json.stdout)
    assert data["cachedFiles"] == ["src/a.py", "src/b.py"]
    assert data["pack"] == expected_pack(
        "plain", [("src/a.py", "a = 1\n"), ("src/b.py", "b = 2\n")]
    )
    assert data["sessionId"].startswith("ctx-")


def test_endpoint_strategy_and_overflow(run_ccw: RunCcw, files: Path) -> None:
    only_md = run_ccw("pack", "**", "--endpoint", "md-only", "--json")
    assert json.loads(only_md.stdout)["cachedFiles"] == ["README.md", "docs/my notes.md"]
    write_tree(files, {"big.md": "x" * 2000})
    failed = run_ccw("pack", "big.md", "--endpoint", "md-only", "--on-overflow", "fail")
    assert failed.returncode == 1
    assert "big.md does not fit: total size limit of 1 KB reached" in failed.stderr
    assert "Traceback" not in failed.stderr
    unknown = run_ccw("pack", "README.md", "--endpoint", "nope")
    assert unknown.returncode == 4


def test_cache_switches_are_honoured(run_ccw: RunCcw, files: Path, tmp_path: Path) -> None:
    assert run_ccw("pack", "README.md", "--no-cache").returncode == 0
    assert run_ccw("pack", "README.md", "--endpoint", "no-cache").returncode == 0
    assert stats(run_ccw)["entries"] == 0
    configure(files, tmp_path / "cache", enabled=False)
    assert run_ccw("pack", "README.md").returncode == 0
    data = stats(run_ccw)
    assert (data["enabled"], data["entries"]) == (False, 0)


def test_cache_list_show_clear(run_ccw: RunCcw, files: Path) -> None:
    run_ccw("pack", "src/*.py")
    run_ccw("pack", "README.md")
    entries = json.loads(run_ccw("cache", "list", "--json").stdout)
    assert [entry["patterns"] for entry in entries] == [["README.md"], ["src/*.py"]]
    shown = json.loads(run_ccw("cache", "show", entries[1]["id"], "--json").stdout)
    assert [item["path"] for item in shown["fileList"]] == ["src/a.py", "src/b.py"]
    table = run_ccw("cache", "list")
    assert entries[0]["id"] in table.stdout
    assert run_ccw("cache", "show", "ctx-nope").returncode == 4
    expired = json.loads(run_ccw("cache", "clear", "--expired", "--json").stdout)
    assert expired == {"removed": 0}
    assert json.loads(run_ccw("cache", "clear", "--json").stdout) == {"removed": 2}
    assert stats(run_ccw)["totalBytes"] == 0


def test_two_processes_share_the_cache(
    files: Path, ccw_env: dict[str, str], run_ccw: RunCcw
) -> None:
    write_tree(files, {f"many/{i:03}.txt": f"file {i}\n" * 50 for i in range(300)})
    command = [sys.executable, "-m", "ccw", "pack", "many/*.txt", "--max-size-kb", "10000"]
    both = [
        subprocess.Popen(
            command, cwd=files, env=ccw_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=60) for process in both]
    assert [process.returncode for process in both] == [0, 0], outputs
    assert outputs[0][0] == outputs[1][0]
    assert outputs[0][0].count(b"<file path=") == 300
    assert b"warning" not in outputs[0][1] + outputs[1][1]
    entries = json.loads(run_ccw("cache", "list", "--json").stdout)
    assert len(entries) == 1
    third = run_ccw("pack", "many/*.txt", "--max-size-kb", "10000")
    assert third.stdout.encode() == outputs[0][0]
    assert "(cache ctx-" in third.stderr


def test_pack_and_cache_do_not_import_litellm(files: Path, ccw_env: dict[str, str]) -> None:
    probe = (
        "import sys\n"
        "from ccw.cli.app import main\n"
        "for argv in (['ccw', 'pack', 'README.md', '-o', 'o.txt'], ['ccw', 'cache', 'stats']):\n"
        "    sys.argv = argv\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as stop:\n"
        "        assert not stop.code, stop.code\n"
        "print('litellm' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=files, env=ccw_env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("False")


def test_folder_policy_from_config_and_flag(run_ccw: RunCcw, files: Path, tmp_path: Path) -> None:
    write_tree(files, {"build/gen.py": "gen = 1\n", "vendor/v.py": "v = 1\n"})
    default = run_ccw("pack", "--no-cache", "**/*.py")
    assert default.returncode == 0, default.stderr
    assert "left out by folder policy: 1 file (1 in build/)" in default.stderr
    assert "build/gen.py" not in default.stdout
    as_json = json.loads(run_ccw("pack", "--no-cache", "--json", "**/*.py").stdout)
    assert as_json["excludedByPolicy"] == {"build/": 1}
    flag = json.loads(
        run_ccw("pack", "--no-cache", "--json", "--no-exclude-dirs", "**/*.py").stdout
    )
    assert "build/gen.py" in flag["cachedFiles"] and flag["excludedByPolicy"] == {}
    configure(files, tmp_path / "cache", excludeDirs=["vendor"])
    configured = json.loads(run_ccw("pack", "--no-cache", "--json", "**/*.py").stdout)
    assert "build/gen.py" in configured["cachedFiles"]
    assert configured["excludedByPolicy"] == {"vendor/": 1}
