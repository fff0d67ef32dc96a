"""A team's LiteLLM proxy on 127.0.0.1: two replicas started from the files
``ccw config export --litellm-proxy --compose`` writes, sharing one redis-server, in front of
the test provider; and a project whose ccw reaches them through a ``litellm-proxy`` provider.

The proxies run from their own venv (``make setup-dev`` builds ``.venv-proxy``) and take
seconds to start: both start at once, once per session. What the proxy needs Postgres for
(virtual keys, spend) cannot run offline; those tests use ``tests/fakes/proxy_admin_server``.

One addition to the exported ``config.yaml``: a custom logger (the proxy's own callback hook)
that writes each call's request tags to a file, so a test can see the tags the proxy read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest
import yaml

from ccw.paths import CONFIG_RELATIVE
from tests.fakes.ports import free_port
from tests.fakes.provider_server import ProviderServer

ROOT = Path(__file__).resolve().parents[2]
LITELLM = ROOT / ".venv-proxy" / "bin" / "litellm"
REDIS = Path("/usr/bin/redis-server")
MASTER = "sk-master-" + "7" * 24
UPSTREAM_A = "sk-upstream-AAAA-1111"
UPSTREAM_B = "sk-upstream-BBBB-2222"
PROJECT = "billing-svc"
START_TIMEOUT_S = 300  # two proxies at once on a busy 2-core machine

TAG_RECORDER = """
import json, os
from litellm.integrations.custom_logger import CustomLogger


class TagRecorder(CustomLogger):
    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
        entry = {"model": kwargs.get("model"), "tags": metadata.get("tags")}
        with open(os.environ["CCW_TEST_TAG_LOG"], "a") as log:
            log.write(json.dumps(entry) + "\\n")


handler = TagRecorder()
"""


def team_config(upstream: str) -> dict[str, object]:
    """The team admin's ccw config: an OpenAI-compatible provider with two keys (a priced
    model, so the proxy puts a price on each call) and an Anthropic one."""
    return {
        "version": 1,
        "providers": [
            {
                "id": "upstream",
                "name": "Upstream",
                "type": "openai",
                "apiBase": f"{upstream}/v1",
                "apiKeys": [
                    {"id": "a", "key": "${UP_A_KEY}"},
                    {"id": "b", "key": "${UP_B_KEY}"},
                ],
                "healthCheck": {"cooldownSeconds": 120},
            },
            {
                "id": "claude",
                "name": "Claude",
                "type": "anthropic",
                "apiBase": upstream,
                "apiKey": "${UP_A_KEY}",
            },
        ],
        "endpoints": [
            {"id": "main", "providerId": "upstream", "model": "gpt-4o-mini"},
            {"id": "sonnet", "providerId": "claude", "model": "claude-sonnet-4-5"},
        ],
    }


def member_config(proxy_url: str) -> dict[str, object]:
    """A team member's ccw config: one litellm-proxy provider, endpoints named as the
    proxy's model groups."""
    return {
        "version": 1,
        "providers": [
            {
                "id": "team",
                "name": "Team proxy",
                "type": "litellm-proxy",
                "apiBase": proxy_url,
                "apiKey": "${TEAM_PROXY_KEY}",
            }
        ],
        "endpoints": [
            {"id": "main", "providerId": "team", "model": "main"},
            {
                "id": "sonnet",
                "providerId": "team",
                "model": "sonnet",
                "cacheStrategy": {"enabled": True, "ttlMinutes": 5},
            },
        ],
        "defaultEndpoint": "main",
    }


def ccw_env(base: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_API_KEY") and k not in ("CCW_CONFIG", "CCW_DATA_DIR")
    }
    env.update(
        HOME=str(base / "home"),
        CCW_USER_CONFIG_DIR=str(base / "user-config"),
        CCW_DATA_DIR=str(base / "data"),
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_OFFLINE_MODE="true",
        NO_COLOR="1",
        COLUMNS="200",
        PYTHONUNBUFFERED="1",
    )
    return env


def run_ccw(
    cwd: Path, env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccw", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_config(project: Path, config: dict[str, object]) -> Path:
    path = project / CONFIG_RELATIVE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2))
    return path


@dataclass
class Team:
    """The running team setup."""

    upstream: ProviderServer
    replicas: tuple[str, str]  # the proxies' URLs
    redis_port: int
    export_dir: Path
    tag_log: Path
    member: Path  # the member's project folder (named PROJECT)
    env: dict[str, str]  # the member's ccw environment (TEAM_PROXY_KEY set)
    logs: tuple[Path, Path]

    def tags_seen(self) -> list[dict[str, object]]:
        if not self.tag_log.exists():
            return []
        return [json.loads(line) for line in self.tag_log.read_text().splitlines() if line]

    def log_tail(self) -> str:
        return "\n".join(path.read_text()[-2000:] for path in self.logs)


def _wait_up(url: str, process: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    while True:
        if process.poll() is not None:
            pytest.fail(f"the proxy at {url} exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health/liveliness", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the proxy at {url} did not start: {log.read_text()[-3000:]}")
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@pytest.fixture(scope="session")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    if not LITELLM.exists():
        pytest.skip(f"{LITELLM} is missing: `make setup-dev` builds LiteLLM's proxy venv")
    if not REDIS.exists():
        pytest.skip(f"{REDIS} is missing: apt-get install redis-server")
    base = tmp_path_factory.mktemp("team")
    env = ccw_env(base)
    admin = base / "admin"
    export_dir = base / "proxy"
    tag_log = base / "tags.jsonl"
    with ProviderServer() as upstream:
        write_config(admin, team_config(upstream.url))
        done = run_ccw(
            admin, env, "config", "export", "--litellm-proxy", "--compose", str(export_dir)
        )
        assert done.returncode == 0, done.stderr
        config_file = export_dir / "config.yaml"
        data = yaml.safe_load(config_file.read_text())
        data.setdefault("litellm_settings", {})["callbacks"] = "tag_recorder.handler"
        config_file.write_text(yaml.safe_dump(data))
        (export_dir / "tag_recorder.py").write_text(TAG_RECORDER)

        redis_port = free_port()
        redis = subprocess.Popen(
            [
                str(REDIS),
                "--port",
                str(redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        proxy_env = {
            **env,
            "LITELLM_MASTER_KEY": MASTER,
            "UP_A_KEY": UPSTREAM_A,
            "UP_B_KEY": UPSTREAM_B,
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(redis_port),
            "CCW_TEST_TAG_LOG": str(tag_log),
            "LITELLM_TELEMETRY": "False",
        }
        proxy_env.pop("DATABASE_URL", None)
        proxy_env.pop("REDIS_PASSWORD", None)
        processes: list[subprocess.Popen[bytes]] = []
        handles: list[IO[str]] = []
        logs: list[Path] = []
        urls: list[str] = []
        try:
            for index in range(2):  # started together: each takes seconds
                port = free_port()
                log = base / f"replica-{index}.log"
                handles.append(log.open("w"))
                processes.append(
                    subprocess.Popen(
                        [
                            str(LITELLM),
                            "--config",
                            str(config_file),
                            "--host",
                            "127.0.0.1",
                            "--port",
                            str(port),
                        ],
                        env=proxy_env,
                        stdout=handles[-1],
                        stderr=subprocess.STDOUT,
                        cwd=export_dir,
                    )
                )
                logs.append(log)
                urls.append(f"http://127.0.0.1:{port}")
            deadline = time.monotonic() + START_TIMEOUT_S
            for url, process, log in zip(urls, processes, logs, strict=True):
                _wait_up(url, process, log, deadline)
            member = base / PROJECT
            (member / ".git").mkdir(parents=True)
            write_config(member, member_config(urls[0]))
            member_env = {**env, "TEAM_PROXY_KEY": MASTER}
            yield Team(
                upstream,
                (urls[0], urls[1]),
                redis_port,
                export_dir,
                tag_log,
                member,
                member_env,
                (logs[0], logs[1]),
            )
        finally:
            for process in processes:
                _stop(process)
            _stop(redis)  # type: ignore[arg-type]
            for handle in handles:
                handle.close()
