"""A LiteLLM proxy's admin routes on 127.0.0.1, with the shapes litellm[proxy] 1.106.12 uses.

Virtual keys and spend live in the proxy's Postgres, which cannot run offline here; this
server answers those routes as the proxy does (shapes read from its route code:
``proxy/management_endpoints/key_management_endpoints.py`` and
``proxy/spend_tracking/spend_management_endpoints.py``):

- ``POST /key/generate`` (admin key only): a ``GenerateKeyRequest`` body (``key_alias``,
  ``duration``, ``max_budget``, ``metadata``...) answered by a ``GenerateKeyResponse``
  (``key``, ``key_name``, ``key_alias``, ``expires``, ``max_budget``, ``metadata``,
  ``token_id``...). Each minted key and its body are kept in ``minted``.
- ``GET /global/spend/tags?start_date=YYYY-MM-DD&end_date=YYYY-MM-DD[&tags=a,b]`` (admin key
  only; both dates required, else 400): ``{"spend_per_tag": [{"name", "spend",
  "log_count"}]}`` from the ``spend`` rows (tag, day, cost, count), summed over the days
  asked for, spend rounded to 4 decimals, largest first.
- ``GET /health/readiness``, ``GET /v1/models`` and ``GET /model/info`` like the proxy.

A refused key gets the proxy's error shape ``{"error": {"message", "type", "param",
"code"}}`` with 401; ``database=False`` answers the spend route as a proxy without its
database (500, "Database not connected ..."). Every request is kept in ``requests``.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class SpendRow:
    tag: str
    day: date
    spend: float
    calls: int


@dataclass
class AdminRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class ProxyAdminServer:
    master_key: str
    database: bool = True
    model_info: list[dict[str, Any]] = field(default_factory=list)
    spend: list[SpendRow] = field(default_factory=list)
    minted: list[dict[str, Any]] = field(default_factory=list)
    requests: list[AdminRequest] = field(default_factory=list)
    url: str = ""
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def __enter__(self) -> ProxyAdminServer:
        server = self

        class Handler(_Handler):
            admin = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


def _error(status: int, message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": "None", "code": str(status)}}


class _Handler(BaseHTTPRequestHandler):
    admin: ProxyAdminServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> AdminRequest:
        parts = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = AdminRequest(self.command, parts.path, query, headers, body)
        self.admin.requests.append(request)
        return request

    def _is_admin(self, request: AdminRequest) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.admin.master_key}"

    def _refuse(self, route: str) -> None:
        self._send(
            401,
            _error(
                401,
                "Authentication Error - Only proxy admin can be used to generate, delete, update "
                f"info for new keys/users/teams. Route={route}. Your role=None",
                "auth_error",
            ),
        )

    def do_GET(self) -> None:
        request = self._record()
        if request.path == "/health/readiness":
            self._send(
                200,
                {
                    "status": "healthy",
                    "db": "connected" if self.admin.database else "Not connected",
                },
            )
        elif request.path in ("/v1/models", "/models"):
            names = dict.fromkeys(row["model_name"] for row in self.admin.model_info)
            self._send(
                200, {"data": [{"id": n, "object": "model"} for n in names], "object": "list"}
            )
        elif request.path in ("/model/info", "/v1/model/info"):
            self._send(200, {"data": self.admin.model_info})
        elif request.path == "/global/spend/tags":
            self._spend(request)
        else:
            self._send(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        request = self._record()
        if request.path == "/key/generate":
            self._generate(request)
        else:
            self._send(404, {"detail": "Not Found"})

    def _spend(self, request: AdminRequest) -> None:
        if not self._is_admin(request):
            self._refuse("/global/spend/tags")
            return
        if not self.admin.database:
            message = (
                "Database not connected. Connect a database to your proxy - "
                "https://docs.litellm.ai/docs/simple_proxy#managing-auth---virtual-keys"
            )
            self._send(500, _error(500, "/spend/tags Error" + message, "internal_error"))
            return
        start, end = request.query.get("start_date"), request.query.get("end_date")
        if not start or not end:
            self._send(400, _error(400, "Please provide start_date and end_date", "bad_request"))
            return
        first, last = date.fromisoformat(start), date.fromisoformat(end)
        wanted = set(request.query["tags"].split(",")) if request.query.get("tags") else None
        spend: dict[str, float] = defaultdict(float)
        calls: dict[str, int] = defaultdict(int)
        for row in self.admin.spend:
            if first <= row.day <= last and (
                wanted is None or "all-tags" in wanted or row.tag in wanted
            ):
                spend[row.tag] += row.spend
                calls[row.tag] += row.calls
        ranked = sorted(spend.items(), key=lambda item: item[1], reverse=True)
        self._send(
            200,
            {
                "spend_per_tag": [
                    {"name": t, "spend": round(s, 4), "log_count": calls[t]} for t, s in ranked
                ]
            },
        )

    def _generate(self, request: AdminRequest) -> None:
        if not self._is_admin(request):
            self._refuse("/key/generate")
            return
        body = request.body if isinstance(request.body, dict) else {}
        budget = body.get("max_budget")
        if budget is not None and not isinstance(budget, int | float):
            self._send(422, {"detail": [{"loc": ["body", "max_budget"], "msg": "not a number"}]})
            return
        key = "sk-" + secrets.token_urlsafe(16)
        expires = None
        duration = body.get("duration")
        if isinstance(duration, str) and duration.endswith("d"):
            expires = (datetime.now(UTC) + timedelta(days=int(duration[:-1]))).isoformat()
        answer = {
            **body,
            "key": key,
            "key_name": f"sk-...{key[-4:]}",
            "expires": expires,
            "token_id": secrets.token_hex(16),
            "user_id": None,
            "created_by": "default_user_id",
        }
        self.admin.minted.append({"key": key, "request": body})
        self._send(200, answer)
