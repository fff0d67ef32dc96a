"""A team's LiteLLM proxy from ccw's config: ``config.yaml``, ``compose.yaml``, ``.env.example``
(``ccw config export --litellm-proxy --compose DIR``).

The proxy's documented production setup: stateless proxy replicas (``deploy.replicas``) that
share Redis (rate limits, cooldowns, usage across replicas) and Postgres (virtual keys,
budgets, spend logs), behind one port (nginx spreading requests over the replicas).
``.env.example`` names every variable the two files read, with no value for any secret;
a literal key in ccw's config becomes a variable to fill in there (``ProxyYaml.exports``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccw.config.schema import Config
from ccw.errors import ConflictError, UsageError
from ccw.exec.proxy_yaml import ProxyYaml, dump, proxy_config
from ccw.exec.proxy_yaml import variables as config_variables

REPLICAS = 2
PROXY_PORT = 4000
LITELLM_IMAGE = "ghcr.io/berriai/litellm-database:main-stable"
FILES = ("config.yaml", "compose.yaml", ".env.example")

# nginx in front of the replicas: compose's DNS gives every replica's address for the
# service name; long timeouts and no buffering for streams. ``$$`` is compose's literal ``$``.
NGINX_CONF = """upstream litellm {
    server litellm:4000;
}
server {
    listen 4000;
    client_max_body_size 64m;
    location / {
        proxy_pass http://litellm;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $$host;
        proxy_buffering off;
        proxy_read_timeout 600s;
    }
}
"""

# Variables compose.yaml itself reads, with what .env.example says of each; ``None``: a
# secret, left empty.
COMPOSE_VARIABLES: dict[str, tuple[str | None, str]] = {
    "LITELLM_IMAGE": (LITELLM_IMAGE, "the proxy's image: pin a release tag or digest you checked"),
    "LITELLM_PORT": (str(PROXY_PORT), "the port the team's ccw reaches the proxy on"),
    "LITELLM_MASTER_KEY": (None, "the proxy's admin key (sk-...): mints virtual keys"),
    "POSTGRES_PASSWORD": (None, "the password of the bundled Postgres"),
    "DATABASE_URL": (
        "",
        "leave empty for the bundled Postgres, or postgresql://... of your own",
    ),
    "REDIS_PASSWORD": (None, "the password of the bundled Redis"),
    "REDIS_HOST": ("", "leave empty for the bundled Redis, or the host of your own"),
    "REDIS_PORT": ("", "leave empty for the bundled Redis (6379)"),
}


@dataclass(frozen=True)
class ComposeExport:
    """The three files' text by name, and the proxy config they came from."""

    files: dict[str, str]
    proxy: ProxyYaml


def _compose(replicas: int) -> dict[str, Any]:
    healthcheck = {
        "test": [
            "CMD",
            "python",
            "-c",
            "import urllib.request; "
            "urllib.request.urlopen('http://localhost:4000/health/liveliness')",
        ],
        "interval": "10s",
        "timeout": "5s",
        "retries": 6,
        "start_period": "30s",
    }
    return {
        "name": "ccw-litellm-proxy",
        "services": {
            "gateway": {
                "image": "nginx:1.27-alpine",
                "ports": [f"${{LITELLM_PORT:-{PROXY_PORT}}}:4000"],
                "configs": [{"source": "nginx_conf", "target": "/etc/nginx/conf.d/default.conf"}],
                "depends_on": {"litellm": {"condition": "service_healthy"}},
                "restart": "unless-stopped",
            },
            "litellm": {
                "image": f"${{LITELLM_IMAGE:-{LITELLM_IMAGE}}}",
                "command": ["--config", "/app/config.yaml", "--port", "4000"],
                "volumes": ["./config.yaml:/app/config.yaml:ro"],
                "env_file": [".env"],
                "environment": {
                    "DATABASE_URL": "${DATABASE_URL:-postgresql://litellm:"
                    "${POSTGRES_PASSWORD}@postgres:5432/litellm}",
                    "REDIS_HOST": "${REDIS_HOST:-redis}",
                    "REDIS_PORT": "${REDIS_PORT:-6379}",
                    "STORE_MODEL_IN_DB": "False",
                },
                "deploy": {"replicas": replicas},
                "depends_on": {
                    "postgres": {"condition": "service_healthy"},
                    "redis": {"condition": "service_healthy"},
                },
                "healthcheck": healthcheck,
                "restart": "unless-stopped",
            },
            "redis": {
                "image": "redis:7-alpine",
                "command": [
                    "redis-server",
                    "--requirepass",
                    "${REDIS_PASSWORD:?set REDIS_PASSWORD in .env}",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                "healthcheck": {
                    "test": ["CMD-SHELL", 'redis-cli -a "$$REDIS_PASSWORD" ping | grep -q PONG'],
                    "interval": "5s",
                    "retries": 10,
                },
                "environment": {"REDIS_PASSWORD": "${REDIS_PASSWORD}"},
                "restart": "unless-stopped",
            },
            "postgres": {
                "image": "postgres:16-alpine",
                "environment": {
                    "POSTGRES_DB": "litellm",
                    "POSTGRES_USER": "litellm",
                    "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}",
                },
                "volumes": ["pgdata:/var/lib/postgresql/data"],
                "healthcheck": {
                    "test": ["CMD-SHELL", "pg_isready -U litellm -d litellm"],
                    "interval": "5s",
                    "retries": 10,
                },
                "restart": "unless-stopped",
            },
        },
        "volumes": {"pgdata": {}},
        "configs": {"nginx_conf": {"content": NGINX_CONF}},
    }


def _env_example(proxy: ProxyYaml) -> str:
    lines = [
        "# Variables of compose.yaml and config.yaml (ccw config export --litellm-proxy"
        " --compose).",
        "# Copy to .env, fill in every empty secret, and keep .env out of version control.",
        "",
        "# The proxy, its database and its cache",
    ]
    for name, (value, what) in COMPOSE_VARIABLES.items():
        lines += [f"# {what}", f"{name}={value or ''}"]
    # The shared settings' variables (Redis, Postgres, master key) are compose's own.
    providers = [n for n in config_variables(proxy.data) if n not in COMPOSE_VARIABLES]
    if providers:
        lines += ["", "# What config.yaml's deployments read (keys, header values, bases)"]
        for name in providers:
            where = proxy.exports.get(name)
            if where:
                lines.append(f"# {where} (a literal in ccw's config: put the value here)")
            lines.append(f"{name}=")
    return "\n".join(lines) + "\n"


def compose_export(config: Config, replicas: int = REPLICAS) -> ComposeExport:
    """The three files of a shared proxy for ``config``."""
    proxy = proxy_config(config, shared=True)
    head = (
        "# A team's LiteLLM proxy: written by `ccw config export --litellm-proxy --compose`.\n"
        "# cp .env.example .env, fill it in, then: docker compose up -d\n"
    )
    files = {
        "config.yaml": proxy.text,
        "compose.yaml": head + dump(_compose(replicas)),
        ".env.example": _env_example(proxy),
    }
    return ComposeExport(files, proxy)


def write_compose(folder: Path, export: ComposeExport, *, force: bool = False) -> list[Path]:
    """Write the files into ``folder`` (made if its parent exists). Without ``force`` an
    existing file is left alone and nothing is written; each file is replaced whole."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is not a folder", "give a folder: --compose DIR")
    if not folder.parent.is_dir():
        raise UsageError(
            f"folder {folder.parent} does not exist", "create it or choose another --compose"
        )
    targets = [folder / name for name in export.files]
    present = [p.name for p in targets if p.exists() or p.is_symlink()]
    if present and not force:
        raise ConflictError(
            f"{folder} already holds {', '.join(present)}",
            "pass --force to replace them, or choose another --compose DIR",
        )
    try:
        folder.mkdir(exist_ok=True)
        for target in targets:
            _write(target, export.files[target.name])
    except OSError as exc:
        raise UsageError(
            f"cannot write into {folder}: {exc.strerror}", "choose another --compose DIR"
        ) from None
    return targets


def _write(target: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
