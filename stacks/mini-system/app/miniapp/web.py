"""What the three services share: settings, the app factory, errors as JSON, auth, health, read-back.

Every answer is JSON and carries ``X-Site``. Errors: 401 bad/missing token, 403 not allowed (bad
read-back token, another user's wallet, not a room member), 404/405 unknown route or thing, 409
conflict with what is stored, 413 body over 64 KiB, 422 invalid input (naming the field, without
echoing the input), 503 ``{"error": "database unavailable"}`` (+ ``X-Write-Outcome: unknown`` when a
write may or may not have been committed), 500 ``{"error": "internal error"}``. Never a trace.

The token is checked before the request's parameters and body (a FastAPI dependency without
parameters of its own runs first), so a protected endpoint answers 401 to a bad token whatever
else is wrong with the request (only a body that is not JSON at all is refused earlier, with 422).

OpenAPI: each service serves its document at ``/<svc>/openapi.json`` (under its own prefix, so it
is reachable through the global entry point's path routing), with the Bearer and read-back token
schemes and the ``{"error": ...}`` answers. No ``/docs`` or ``/redoc``: FastAPI's pages load their
JavaScript and CSS from a public CDN, which a stack must never depend on.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from miniapp import tokens
from miniapp.db import Database, DatabaseUnavailable
from miniapp.models import Error, ReadbackQuery

log = logging.getLogger("miniapp")

MAX_BODY = 64 * 1024
MAX_READBACK_BODY = 2 * 1024 * 1024  # up to 5000 ids of up to 200 chars
MIN_READBACK_TOKEN_CHARS = 16  # generated ones have 43 (scripts/make-secrets.sh)

# Only for the OpenAPI document (auto_error=False: the checks below decide and answer).
BEARER = HTTPBearer(auto_error=False, scheme_name="token",
                    description="A token from POST /login/login (Ed25519-signed, 1 h)")
READBACK = APIKeyHeader(name="X-Readback-Token", auto_error=False, scheme_name="readback",
                        description="The stack's shared read-back token (harness only)")

_ERROR_TEXT = {400: "Bad request", 401: "Missing, malformed, tampered or expired token",
               403: "Not allowed", 404: "Not found", 409: "Conflict with what is stored",
               413: "Body too large", 422: "Invalid input; `detail` names the fields",
               503: "Database unavailable (`X-Write-Outcome: unknown` if a write may exist)"}


def errors(*codes: int) -> dict[int | str, dict]:
    """OpenAPI ``responses`` for the error answers a route gives (all are :class:`Error`)."""
    return {code: {"model": Error, "description": _ERROR_TEXT[code]} for code in codes}


class ConfigError(Exception):
    """A setting is missing or unusable: the service refuses to start (the message says which)."""


@dataclass(frozen=True)
class Settings:
    """A service's settings. No secret has a default: the read-back token comes from
    ``READBACK_TOKEN_FILE`` (a mounted secret) or ``READBACK_TOKEN``, and must be at least
    :data:`MIN_READBACK_TOKEN_CHARS` long; ``TOKEN_PUBLIC_KEY_FILE`` is required; the private key
    (``TOKEN_PRIVATE_KEY_FILE``) is login's alone: another service given one refuses to start."""

    service: str
    database_url: str
    site: str
    readback_token: str
    public_key_file: str
    private_key_file: str | None
    # Where the read-only endpoints read (READ_DATABASE_URL; unset or empty: DATABASE_URL, as one
    # database does). See Context.reads.
    read_database_url: str | None = None

    def __post_init__(self):
        if len(self.readback_token.strip()) < MIN_READBACK_TOKEN_CHARS:
            raise ConfigError(f"{self.service}: the read-back token must have at least "
                              f"{MIN_READBACK_TOKEN_CHARS} characters (READBACK_TOKEN_FILE)")
        if not self.public_key_file:
            raise ConfigError(f"{self.service}: TOKEN_PUBLIC_KEY_FILE is not set")
        if self.private_key_file and self.service != "login":
            raise ConfigError(f"{self.service}: only login signs tokens; it must not be given "
                              "the private key (TOKEN_PRIVATE_KEY_FILE)")

    @classmethod
    def from_env(cls, service: str) -> "Settings":
        env = os.environ.get
        token_file = env("READBACK_TOKEN_FILE")
        if token_file:
            try:
                token = Path(token_file).read_text().strip()
            except OSError as e:
                raise ConfigError(f"{service}: READBACK_TOKEN_FILE {token_file}: {e.strerror}") from e
        else:
            token = env("READBACK_TOKEN", "")
        if not token:
            raise ConfigError(f"{service}: no read-back token: set READBACK_TOKEN_FILE (the stack "
                              "mounts the one scripts/make-secrets.sh made) or READBACK_TOKEN")
        return cls(service=service,
                   database_url=env("DATABASE_URL", "postgresql://app:app@dbrouter:5000/mini"),
                   site=env("SITE", "unknown"),
                   readback_token=token,
                   public_key_file=env("TOKEN_PUBLIC_KEY_FILE", ""),
                   private_key_file=env("TOKEN_PRIVATE_KEY_FILE") or None,
                   read_database_url=env("READ_DATABASE_URL", "").strip() or None)


class ApiError(Exception):
    """An expected refusal: answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass
class Context:
    """What a service's routes need.

    ``db`` reaches the primary: every write, and every read that is part of a write (a transfer's
    idempotency lookup), the read-back and the audit (the harness's verdict reads the primary).
    ``reads`` serves the read-only endpoints (login, me, a room's page, balance, transfers): a
    read-only :class:`Database` on ``READ_DATABASE_URL`` (the database copy at the app's own site),
    or ``db`` itself when that is not set."""

    settings: Settings
    db: Database
    verifier: tokens.Verifier
    private_key: Any = None
    reads: Any = None  # a Database; None: db

    def __post_init__(self):
        if self.reads is None:
            self.reads = self.db

    def user(self, request: Request) -> tokens.Claims:
        """The caller, from a Bearer token verified locally with the public key; 401 otherwise."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "missing bearer token", {"WWW-Authenticate": "Bearer"})
        try:
            return self.verifier(token.strip())
        except tokens.TokenError as e:
            raise ApiError(401, str(e), {"WWW-Authenticate": "Bearer"}) from e

    def require_readback_token(self, request: Request,
                               _documented: str | None = Security(READBACK)) -> None:
        given = request.headers.get("x-readback-token", "")
        if not hmac.compare_digest(given.encode(), self.settings.readback_token.encode()):
            raise ApiError(403, "bad or missing X-Readback-Token")


async def current_user(request: Request,
                       _documented: HTTPAuthorizationCredentials | None = Security(BEARER)) -> tokens.Claims:
    """The caller (dependency form of :meth:`Context.user`); a route takes ``user: CurrentUser``.

    ``async``: checking a token (a tenth of a millisecond of CPU the first time, a dictionary
    lookup after that) costs less than handing it to the thread pool and back, which FastAPI does
    for a plain ``def`` dependency."""
    return request.app.state.ctx.user(request)


CurrentUser = Annotated[tokens.Claims, Depends(current_user)]


class SiteAndBodyLimit:
    """ASGI middleware: adds ``X-Site`` to every answer; refuses bodies over the limit with 413
    (by Content-Length up front, and by counting for chunked bodies); turns a crash into a JSON
    500 (the trace goes to the server log only)."""

    def __init__(self, app, site: str):
        self.app, self.site = app, site.encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def send_with_site(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), (b"x-site", self.site)]
            await send(message)

        async def answer(status: int, error: str):
            body = json.dumps({"error": error}).encode()
            await send_with_site({"type": "http.response.start", "status": status,
                                  "headers": [(b"content-type", b"application/json"),
                                              (b"content-length", str(len(body)).encode())]})
            await send_with_site({"type": "http.response.body", "body": body})

        limit = MAX_READBACK_BODY if scope["path"].endswith("/readback") else MAX_BODY
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit():
            return await answer(400, "bad Content-Length")
        if int(length) > limit:
            return await answer(413, "request body too large")
        seen = 0

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # FastAPI re-raises HTTPException from body reading as is
                    raise StarletteHTTPException(413, "request body too large")
            return message

        try:
            await self.app(scope, counting_receive, send_with_site)
        except Exception:
            log.exception("unhandled error in %s %s", scope.get("method"), scope["path"])
            if started:
                raise
            await answer(500, "internal error")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def create_app(service_module: ModuleType, settings: Settings, db: Database | None = None,
               reads: Database | None = None) -> FastAPI:
    """The FastAPI app of one service (``miniapp.login``, ``.messaging`` or ``.payment``).

    ``reads``: where the read-only endpoints read; by default a read-only Database on
    ``settings.read_database_url`` if set, else ``db``."""
    svc = settings.service
    db = db or Database(settings.database_url, name=f"miniapp-{svc}", schema=service_module.SCHEMA)
    if reads is None and settings.read_database_url:
        reads = Database(settings.read_database_url, name=f"miniapp-{svc}-reads", read_only=True)
    reads = reads or db
    ctx = Context(settings=settings, db=db, reads=reads,
                  verifier=tokens.Verifier(tokens.load_public_key(settings.public_key_file)),
                  private_key=(tokens.load_private_key(settings.private_key_file)
                               if settings.private_key_file else None))

    @asynccontextmanager
    async def lifespan(_app):
        db.start()
        if reads is not db:
            reads.start()
        yield
        if reads is not db:
            reads.stop()
        db.stop()

    # No /docs, no /redoc: they would load Swagger UI / ReDoc from a CDN (see the module doc).
    app = FastAPI(title=f"miniapp {svc}", version="1", lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=f"/{svc}/openapi.json",
                  description=(service_module.__doc__ or "").strip())
    app.state.ctx = ctx
    app.add_middleware(SiteAndBodyLimit, site=settings.site)

    @app.exception_handler(ApiError)
    async def api_error(_request, exc: ApiError):
        return _error(exc.status, exc.message, exc.headers)

    @app.exception_handler(DatabaseUnavailable)
    async def db_unavailable(_request, exc: DatabaseUnavailable):
        return _error(503, "database unavailable",
                      {"X-Write-Outcome": "unknown"} if exc.outcome_unknown else None)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request, exc: StarletteHTTPException):
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request, exc: RequestValidationError):
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        return JSONResponse({"error": "invalid input", "detail": detail}, status_code=422)

    router = APIRouter(prefix=f"/{svc}")

    @router.get("/health", responses=errors(503))
    def health():
        """200 only if the schema is ready and ``SELECT 1`` answers within about 1 s where the
        service reads (its site's copy when reads are local: a site that can log people in and
        serve reads stays in the entry point's rotation while writes wait for a new primary)."""
        if not db.ready:
            return JSONResponse({"status": "starting", "site": settings.site}, status_code=503)
        if not reads.ping(1.0):
            return JSONResponse({"status": "database unavailable", "site": settings.site},
                                status_code=503)
        return {"status": "ok", "site": settings.site}

    @router.post("/readback", dependencies=[Depends(ctx.require_readback_token)],
                 responses=errors(403, 413, 422, 503))
    def readback(query: ReadbackQuery):
        """How many rows the database holds for each id (counted, not deduplicated)."""
        ids = list(dict.fromkeys(query.ids))
        counts = db.run(lambda conn: service_module.readback(conn, ids), write=False)
        return {"counts": {i: int(counts.get(i, 0)) for i in ids}}

    service_module.routes(router, ctx)
    app.include_router(router)
    return app
