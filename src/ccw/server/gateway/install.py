"""Mount the gateway on the dashboard's app: its routes, its token check, its error shapes."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from ccw.server.gateway import anthropic_routes, openai_routes, responses_routes, token
from ccw.server.gateway.body import max_body_bytes
from ccw.server.gateway.errors import ANTHROPIC_PATH, GatewayError, Wire, body, headers


def check_token(request: Request) -> None:
    """Every ``/v1`` route wants the gateway token, loopback or not: any local process could
    otherwise spend the user's keys."""
    expected: str = request.app.state.gateway_token
    sent = token.bearer({k.lower(): v for k, v in request.headers.items()})
    if not token.matches(sent, expected):
        raise GatewayError(
            401,
            "missing or wrong gateway token: send Authorization: Bearer <token> "
            "(shown by: ccw serve token)",
            "invalid_api_key",
        )


def install(app: FastAPI, gateway_token: str | None = None, parent_id: str | None = None) -> None:
    """``gateway_token``: the token clients send (default: the stored one, made on first use).
    ``parent_id``: the call every gateway call is recorded under (a CLI tool's run).
    A request body may hold ``CCW_GATEWAY_MAX_BODY`` bytes (1 MiB by default)."""
    app.state.gateway_max_body = max_body_bytes()
    app.state.gateway_token = gateway_token or token.gateway_token()
    app.state.gateway_parent = parent_id
    guard = [Depends(check_token)]
    app.include_router(openai_routes.router, dependencies=guard, include_in_schema=False)
    app.include_router(anthropic_routes.router, dependencies=guard, include_in_schema=False)
    app.include_router(responses_routes.router, dependencies=guard, include_in_schema=False)

    async def refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GatewayError)
        wire: Wire = "anthropic" if request.url.path == ANTHROPIC_PATH else "openai"
        return JSONResponse(body(exc, wire), status_code=exc.status, headers=headers(exc))

    app.add_exception_handler(GatewayError, refused)
