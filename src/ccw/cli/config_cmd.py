"""``ccw config``: which files are read, what they hold (masked), and whether they are valid."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from ccw.cli import scope
from ccw.cli.common import info, print_json, store, success, warn
from ccw.cli.options import JsonOpt
from ccw.cli.scope import GlobalOpt, ProjectOpt

if TYPE_CHECKING:
    from ccw.config.layers import LayeredConfig

app = typer.Typer(help="Show and check the config files.", no_args_is_help=True)


@app.command("path")
def path(
    ctx: typer.Context,
    all_files: Annotated[
        bool, typer.Option("--all", help="Also list files that do not exist yet.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Print the config files read, in order (later ones win), one per line.

    Your user file is listed when it exists; the project's file always (edits go there).
    With --config or CCW_CONFIG only that file is read.
    """
    layered = store(ctx)
    files = [
        {"scope": layer.scope, "path": str(layer.store.path), "exists": layer.store.exists()}
        for layer in layered.layers
    ]
    if as_json:
        print_json({"files": files})
        return
    for item in files:
        if item["exists"] or all_files or item["path"] == str(layered.path):
            typer.echo(item["path"])


@app.command("show")
def show(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Print the merged config (user file beneath the project's) as JSON, keys masked (it is
    always JSON; --json is accepted like everywhere)."""
    from ccw.config import manage

    print_json(manage.masked_config(store(ctx).load()))


@app.command("allow-env")
def allow_env(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(help="Environment variable names.")],
    remove: Annotated[bool, typer.Option("--remove", help="Take the names off the list.")] = False,
    global_: GlobalOpt = False,
    project: ProjectOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Let apiBase and header values refer to these variables, and the API set them as keys.

    The list (``allowedEnvVars`` in the file) is edited only here or by hand, never through the
    HTTP API. The lists of the user and project files add up.
    """
    from ccw.config import manage

    layered = store(ctx)
    target = layered.store_for(scope.chosen(global_, project))
    current = manage.allow_env(target, names, remove=remove)
    where = layered.scope_of(target)
    if as_json:
        print_json({"allowedEnvVars": current, "scope": where, "file": str(target.path)})
        return
    success(f"allowedEnvVars ({where} config): " + (", ".join(current) if current else "(none)"))


def _file_problems(layered: LayeredConfig) -> tuple[list[dict[str, Any]], list[str]]:
    """Each file's own errors (JSON, schema) and the problems of the merged config."""
    from ccw.config.validate import check
    from ccw.errors import ConfigError

    files: list[dict[str, Any]] = []
    broken = False
    for layer in layered.layers:
        entry: dict[str, Any] = {
            "scope": layer.scope,
            "path": str(layer.store.path),
            "exists": layer.store.exists(),
        }
        try:
            layer.store.load()
        except ConfigError as exc:
            entry["error"] = exc.message
            broken = True
        files.append(entry)
    problems = [] if broken else check(layered.load())
    problems = [f"{item['path']}: {item['error']}" for item in files if "error" in item] + problems
    return files, problems


@app.command("validate")
def validate(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Check every file read: JSON, schema, and references between endpoints and providers
    (an endpoint of the project file may use a provider of the user file)."""
    from ccw.errors import ConfigError

    layered = store(ctx)
    files, problems = _file_problems(layered)
    if as_json:
        print_json({"valid": not problems, "files": files, "problems": problems})
        if problems:
            raise typer.Exit(ConfigError.exit_code)
        return
    if problems:
        raise ConfigError("; ".join(problems), "edit the file or use ccw endpoint/provider")
    present = [item["path"] for item in files if item["exists"]]
    if not present:
        success(f"no config file yet at {layered.path}; defaults apply")
        return
    for item in present:
        info(f"read {item}")
    success(", ".join(present) + (" is valid" if len(present) == 1 else " are valid"))


@app.command("export")
def export(
    ctx: typer.Context,
    litellm_proxy: Annotated[
        bool,
        typer.Option(
            "--litellm-proxy",
            help="Write the config as a LiteLLM proxy config.yaml (the only format so far).",
        ),
    ] = False,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Write to this file instead of standard output."),
    ] = None,
    compose: Annotated[
        str | None,
        typer.Option(
            "--compose",
            metavar="DIR",
            help="Write a team's proxy into DIR: config.yaml, compose.yaml (replicas, Redis, "
            "Postgres) and .env.example.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace files --compose finds in DIR.")
    ] = False,
) -> None:
    """Export the merged config for another tool: with --litellm-proxy, a LiteLLM proxy
    ``config.yaml`` (``litellm --config FILE``).

    One model group per endpoint and per model pool, one deployment per enabled key. No key
    or header value is written: ``${VAR}`` becomes ``os.environ/VAR``, and a literal in ccw's
    config becomes a variable name listed at the top of the file (and here), to export before
    starting the proxy.

    With --compose DIR: the proxy for a team (two replicas sharing Redis for limits and
    cooldowns, Postgres for virtual keys and spend), its compose.yaml and an .env.example
    naming every variable, no secret's value; existing files are kept unless --force.
    """
    from pathlib import Path

    from ccw.errors import UsageError
    from ccw.exec.proxy_yaml import proxy_config

    if not litellm_proxy:
        raise UsageError("choose a format to export", "ccw config export --litellm-proxy")
    if compose is not None:
        if output is not None:
            raise UsageError("--compose and -o both name where to write", "give one of them")
        _export_compose(ctx, Path(compose).expanduser(), force)
        return
    found = proxy_config(store(ctx).load())
    for name, where in found.exports.items():
        warn(f"{where} is a literal in the config: export {name}=... before starting the proxy")
    if output is None or output == "-":
        typer.echo(found.text, nl=False)
        return
    target = Path(output).expanduser()
    if target.is_dir():
        raise UsageError(f"{target} is a folder", "give a file name: -o litellm-proxy.yaml")
    if not target.parent.is_dir():
        raise UsageError(f"folder {target.parent} does not exist", "create it or choose another -o")
    partial = target.with_name(f".{target.name}.tmp")
    try:
        partial.write_text(found.text, encoding="utf-8")
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UsageError(f"cannot write {target}: {exc.strerror}", "choose another -o") from None
    success(
        f"LiteLLM proxy config written to {target} ({len(found.data['model_list'])} deployments)"
    )


def _export_compose(ctx: typer.Context, folder: Any, force: bool) -> None:
    from ccw.exec.proxy_compose import compose_export, write_compose

    export = compose_export(store(ctx).load())
    written = write_compose(folder, export, force=force)
    for name, where in export.proxy.exports.items():
        warn(f"{where} is a literal in the config: set {name} in {folder}/.env")
    success(
        f"wrote {', '.join(p.name for p in written)} to {folder} "
        f"({len(export.proxy.data['model_list'])} deployments); next: cp .env.example .env, "
        "fill it in, docker compose up -d"
    )
