"""The FastAPI application: routes under ``/api/litellm-api``, the page at ``/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from ccw import __version__
from ccw.config.store import ConfigStore
from ccw.errors import CcwError
from ccw.paths import project_root_of
from ccw.server import (
    routes_cache,
    routes_config,
    routes_endpoints,
    routes_history,
    routes_meta,
    routes_providers,
)
from ccw.server.security import SecurityMiddleware
from ccw.server.state import ServerState

API_PREFIX = "/api/litellm-api"
STATIC_DIR = Path(__file__).parent / "static"


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Where and what, without echoing the input (it may hold a key)."""
    return [
        {"loc": [str(part) for part in item.get("loc", ())], "msg": str(item.get("msg", ""))}
        for item in exc.errors()
    ]


def _install_error_handlers(app: FastAPI) -> None:
    async def ccw_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CcwError)
        return JSONResponse({"error": exc.message, "fix": exc.fix}, status_code=exc.status)

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


def create_app(config_path: Path, token: str | None, host: str, port: int) -> FastAPI:
    """The dashboard for the config at ``config_path``, served at ``host:port``."""
    app = FastAPI(
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
    for module in (
        routes_providers,
        routes_endpoints,
        routes_config,
        routes_cache,
        routes_meta,
        routes_history,
    ):
        app.include_router(module.router, prefix=API_PREFIX)
    _install_error_handlers(app)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"cache-control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(SecurityMiddleware, bound_host=host, token=token)
    return app
