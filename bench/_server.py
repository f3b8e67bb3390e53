"""The benchmarked server, run as its own process: `python -m bench._server {bare|app} PORT`.

`app` is the real service (create_app) with settings from the environment (CENTRALINO_*) and a
WhatsApp channel created for the bench's app secret; `bare` is a minimal Starlette endpoint that
reads the body and answers 200. Both are served by uvicorn with its defaults (uvloop, httptools).
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn

from bench import common


def bare_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def receive(request: Request) -> Response:
        await request.body()
        return Response(status_code=200)

    return Starlette(routes=[Route(common.PATH, receive, methods=["POST"])])


def real_app() -> Any:
    from centralino.config import Settings
    from centralino.errors import Conflict
    from centralino.services import build_services
    from centralino.storage import channels as channel_repo
    from centralino.web.app import create_app

    settings = Settings()
    services = build_services(settings)
    try:
        with services.engine.begin() as conn:
            channel_repo.create(
                conn, services.box, kind="whatsapp", name="Bench", address=common.PNID, account_id=common.WABA,
                display_address=common.DISPLAY,
                config={"graph_base_url": "http://127.0.0.1:9", "graph_version": "v23.0"},
                secrets={"app_secret": common.APP_SECRET, "verify_token": common.VERIFY_TOKEN,
                         "access_token": common.ACCESS_TOKEN})
    except Conflict:
        pass
    return create_app(settings, services)


def main() -> None:
    target, port = sys.argv[1], int(sys.argv[2])
    app = bare_app() if target == "bare" else real_app()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
