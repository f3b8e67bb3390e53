"""The one handler that renders every error the same way."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import JSONResponse

from centralino.errors import CentralinoError, TooManyRequests


def error_response(exc: CentralinoError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after_s)
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers or None)


def install(app: FastAPI) -> None:
    @app.exception_handler(CentralinoError)
    async def _centralino(_request: Request, exc: CentralinoError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "body", "path", "header", "cookie"))
        err = CentralinoError(f"{loc or 'request'}: {first.get('msg', 'invalid')}", field=loc or None,
                              code="invalid_input", status=422)
        return error_response(err)
