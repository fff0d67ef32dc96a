"""The FastAPI application: routes under ``/api/litellm-api``, the page at ``/``."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.routing import Route

from ccw import __version__
from ccw.config.schema import MAX_ID_CHARS
from ccw.config.store import ConfigStore
from ccw.errors import CcwError
from ccw.exec.faults import ProviderFault
from ccw.paths import project_root_of
from ccw.server import (
    routes_cache,
    routes_compat,
    routes_config,
    routes_cost,
    routes_endpoints,
    routes_health,
    routes_history,
    routes_meta,
    routes_pools,
    routes_providers,
    routes_proxy_yaml,
)
from ccw.server.bodies import ErrorBody, check_path_ids, path_id_pattern
from ccw.server.csrf import CsrfMiddleware, CsrfTokens
from ccw.server.gateway.install import install as install_gateway
from ccw.server.security import MAX_BODY_BYTES, SecurityMiddleware
from ccw.server.state import ServerState, state

API_PREFIX = "/api/litellm-api"
STATIC_DIR = Path(__file__).parent / "static"
SAFE_METHODS = frozenset({"GET", "HEAD"})
ERRORS: dict[int, str] = {
    400: "Bad request: an id in the path too long or with characters no id has, too many or "
    "too large headers, or a field value the config refuses",
    401: "The server was started with a token and the request did not carry it",
    403: "A foreign Host header (DNS rebinding) or a cross-origin mutation",
    404: "No provider, endpoint, cache entry or history record with that id",
    409: "The id is already taken, or the endpoint or provider is disabled",
    413: f"The request body is larger than {MAX_BODY_BYTES} bytes",
    415: "A mutation whose body is not JSON",
    422: "The request does not match its schema, or the config file is invalid",
    503: "The config file is locked by another ccw process; retry after Retry-After seconds",
}
# The status of each error ``kind`` (``ccw.errors``); any other kind answers 400.
STATUS_BY_KIND: dict[str, int] = {
    "usage": 400,
    "missing_key": 400,
    "env_not_allowed": 400,
    "not_found": 404,
    "conflict": 409,
    "disabled": 409,
    "config": 422,
    "busy": 503,
    "tool_missing": 503,
    "tool_start": 503,
    "local_model_missing": 503,
    "local_server": 503,
}
PROVIDER_FAULT_STATUS = 502  # whatever the fault: the provider, not this server, failed
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer"},
    }
}


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Where and what, without echoing the input (it may hold a key)."""
    return [
        {"loc": [str(part) for part in item.get("loc", ())], "msg": str(item.get("msg", ""))}
        for item in exc.errors()
    ]


def error_status(exc: CcwError) -> int:
    """The HTTP status of a ccw error, from its ``kind``."""
    if isinstance(exc, ProviderFault):
        return PROVIDER_FAULT_STATUS
    return STATUS_BY_KIND.get(exc.kind, 400)


def _install_error_handlers(app: FastAPI) -> None:
    async def ccw_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CcwError)
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(math.ceil(retry_after))} if retry_after else None
        return JSONResponse(
            {"error": exc.message, "fix": exc.fix},
            status_code=error_status(exc),
            headers=headers,
        )

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        fields = _field_errors(exc)
        summary = "; ".join(f"{'.'.join(f['loc'][1:]) or 'body'}: {f['msg']}" for f in fields[:5])
        return JSONResponse(
            {"error": f"invalid request: {summary}", "fix": None, "fields": fields},
            status_code=422,
        )

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return JSONResponse(
            {"error": str(exc.detail), "fix": None},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    app.add_exception_handler(CcwError, ccw_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)


def _error_statuses(route: APIRoute) -> list[int]:
    """The error statuses one operation can answer with, from what it takes and touches."""
    dependant = route.dependant
    mutation = not (route.methods or set()) <= SAFE_METHODS
    takes_input = bool(dependant.path_params or dependant.query_params or dependant.body_params)
    uses_state = any(sub.call is state for sub in dependant.dependencies)
    statuses = [400, 401, 403, 413]
    if dependant.path_params or mutation:
        statuses.append(404)
    if mutation:
        statuses += [409, 415, 503]
    if takes_input or uses_state or mutation:
        statuses.append(422)
    return sorted(statuses)


def _document_errors(app: FastAPI, routes: list[APIRoute]) -> None:
    """Every operation's error responses, with the one error body, in the OpenAPI document.

    Done on the generated document, so the shared routers stay as their modules declare them.
    """
    statuses = {
        (API_PREFIX + route.path, method.lower()): _error_statuses(route)
        for route in routes
        for method in route.methods or ()
    }
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            _add_error_responses(schema, statuses)
            _constrain_path_ids(schema)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def _add_error_responses(
    schema: dict[str, Any], statuses: dict[tuple[str, str], list[int]]
) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error_schema.pop("$defs", {}))
    components["ErrorBody"] = error_schema
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            for status in statuses.get((path, method), []):
                response: dict[str, Any] = {"description": ERRORS[status], "content": content}
                if status == 503:
                    response["headers"] = RETRY_AFTER
                operation.setdefault("responses", {})[str(status)] = response
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def _constrain_path_ids(schema: dict[str, Any]) -> None:
    """Path parameters state the limits ``check_path_ids`` enforces."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path":
                    parameter["schema"].update(
                        minLength=1,
                        maxLength=MAX_ID_CHARS,
                        pattern=path_id_pattern(parameter["name"]),
                    )


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The background key health checks run while the server does."""
    from ccw.exec.health import run_background

    s: ServerState = app.state.ccw
    stop = asyncio.Event()
    task = asyncio.create_task(run_background(s.config, s.store.path, stop))
    try:
        yield
    finally:
        stop.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def create_app(config_path: Path, token: str | None, host: str, port: int) -> FastAPI:
    """The dashboard for the config at ``config_path``, served at ``host:port``."""
    app = FastAPI(
        lifespan=_lifespan,
        title="ccw dashboard API",
        version=__version__,
        description=(
            "Providers, endpoints and the context cache of one ccw project. "
            "Keys are always masked; mutations take JSON bodies only."
        ),
    )
    app.state.ccw = ServerState(
        ConfigStore(config_path), project_root_of(config_path), listen=f"{host}:{port}"
    )
    # Routes are tried in order (each miss costs a match): the dashboard's most frequent
    # reads, providers and cache stats, first.
    routers = [
        routes_providers.router,
        routes_cache.router,
        routes_endpoints.router,
        routes_config.router,
        routes_meta.router,
        routes_history.router,
        routes_cost.router,
        routes_health.router,
        routes_compat.router,
        routes_pools.router,
        routes_proxy_yaml.router,
    ]
    for router in routers:
        app.include_router(router, prefix=API_PREFIX, dependencies=[Depends(check_path_ids)])
    # The page polls these two reads. As plain Starlette routes ahead of FastAPI's they skip
    # dependency solving (they take no parameters and answer bytes already encoded); the
    # FastAPI routes behind them stay for the OpenAPI document.
    for path, endpoint in (
        ("/providers", routes_providers.list_providers),
        ("/cache/stats", routes_cache.cache_stats),
    ):
        app.router.routes.insert(0, Route(API_PREFIX + path, endpoint, methods=["GET"]))
    _install_error_handlers(app)
    install_gateway(app)  # /v1: the OpenAI- and Anthropic-compatible gateway
    routes = [route for router in routers for route in router.routes]
    _document_errors(app, [route for route in routes if isinstance(route, APIRoute)])

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"cache-control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(CsrfMiddleware, tokens=CsrfTokens())
    app.add_middleware(SecurityMiddleware, bound_host=host, port=port, token=token)
    return app
