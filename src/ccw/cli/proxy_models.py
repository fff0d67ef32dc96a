"""``ccw endpoint add --discover``: a LiteLLM proxy's models, read from its model-info route."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccw.cli.common import print_json, table

if TYPE_CHECKING:
    from ccw.config.schema import Config
    from ccw.exec.proxy_client import ProxyModel


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def discover(
    config: Config, provider_id: str | None, model: str | None, *, listing: bool, as_json: bool
) -> str:
    """List the proxy's models (``listing``), or check that it serves ``model``; the
    provider's id either way (the one named, else the only ``litellm-proxy`` one)."""
    from ccw.errors import NotFoundError
    from ccw.exec.proxy_http import access, model_groups, proxy_provider

    provider = proxy_provider(config, provider_id)
    models = model_groups(access(config, provider))
    if listing:
        _show(provider.id, models, as_json)
        return provider.id
    names = [m.name for m in models]
    wanted = model.removeprefix("litellm_proxy/") if model else None
    if wanted not in names:
        raise NotFoundError(
            f"the proxy of provider {provider.id} serves no model {model}",
            "its models: " + (", ".join(names) or "(none)"),
        )
    return provider.id


def _show(provider_id: str, models: list[ProxyModel], as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "providerId": provider_id,
                "models": [m.to_dict() for m in models],
                "count": len(models),
            }
        )
        return
    rows = [
        [
            m.name,
            _cell(m.context_window),
            _cell(m.max_output_tokens),
            _cell(m.prompt_caching),
            _cell(m.mode),
            _cell(m.deployments),
        ]
        for m in models
    ]
    columns = ["model", "context", "max output", "prompt caching", "mode", "deployments"]
    table(
        f"Models of {provider_id} (add one: ccw endpoint add ID -p {provider_id} -m MODEL)",
        columns,
        rows,
    )
