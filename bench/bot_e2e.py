"""End-to-end latency of the virtual agent: from a customer's webhook acknowledged to the bot's answer queued.

    python -m bench.bot_e2e [--quick] [--database-url URL] [--encoder use|tfidf]

The real service in this process, as `centralino demo` runs it (web + in-process workers, SQLite file by
default): a WhatsApp channel with the bot enabled, the demo's intents (centralino/demo_bot.py) and a model
trained with the default encoder. Signed Meta-shaped webhooks (one text message each, a new customer each
time: the first message of a conversation, the bot's full path) are POSTed over HTTP one after the other,
spaced `gap` apart. Measured per message: from the 200 answer to the bot's reply committed with its outbox row
(the `message.queued` event of origin "bot", published after the commit); the sender's Graph API calls go to
a stand-in route on the same server that accepts them. Messages: an auto answer
(opening hours, greetings, thanks) and a dialog's first question (an order without its number), in Italian
and English. Target: p99 < 150 ms.

`measure(quick)` is what bench.nlu calls; the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bench import common

TEXTS = ("a che ora aprite?", "ciao", "grazie mille", "dov'è il mio ordine?", "what time do you open?", "hello",
         "thank you", "where is my order?", "siete aperti domenica?", "I need my boarding pass")
TARGET_P99_MS = 150.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _graph_sink(app: Any) -> None:
    """A stand-in for Meta's Graph API on the same server: the sender's POSTs are accepted with a message id
    (an unreachable URL would have the sender retry every bot answer, load that is not the bot's)."""
    import itertools

    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    ids = itertools.count()

    async def accept(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"messaging_product": "whatsapp", "messages": [{"id": f"wamid.SINK{next(ids):010d}"}]})

    app.router.routes.insert(0, Route("/graph-sink/{version}/{pnid}/messages", accept, methods=["POST"]))


def _setup(database_url: str, encoder: str, media_dir: Path, graph_url: str) -> Any:
    from centralino.config import Settings
    from centralino.demo_access import SETUP
    from centralino.demo_bot import seed_demo_bot
    from centralino.services import build_services
    from centralino.storage import channels as channel_repo

    settings = Settings(_env_file=None, database_url=database_url, media_dir=media_dir,  # type: ignore[call-arg]
                        bot_encoder=encoder, sender_pair_interval_s=0)
    services = build_services(settings)
    with services.engine.begin() as conn:
        channel_id = channel_repo.create(
            conn, services.box, kind="whatsapp", name="Bench", address=common.PNID, account_id=common.WABA,
            display_address=common.DISPLAY, config={"graph_base_url": graph_url, "graph_version": "v23.0"},
            secrets={"app_secret": common.APP_SECRET, "verify_token": common.VERIFY_TOKEN,
                     "access_token": common.ACCESS_TOKEN})
    services.directory.refresh()
    assert services.bot is not None
    seed_demo_bot(services, "http://127.0.0.1:9")
    services.bot.models.do_train("bench")
    services.bot.channels.do_configure(SETUP, channel_id, {"enabled": True})
    return settings, services


def measure(quick: bool = False, *, database_url: str | None = None, encoder: str | None = None,
            gap_s: float = 0.25) -> dict[str, Any]:
    """Post the webhooks to a running service and time each bot answer; the figures."""
    from centralino.channels.whatsapp.adapter import sign
    from centralino.simulator import payloads
    from centralino.web.app import create_app

    count = 60 if quick else 400
    with tempfile.TemporaryDirectory(prefix="bench-bot-") as tmp:
        url = database_url or f"sqlite:///{tmp}/bench.db"
        port = _free_port()
        settings, services = _setup(url, encoder or os.environ.get("CENTRALINO_BOT_ENCODER", "use"),
                                    Path(tmp) / "media", f"http://127.0.0.1:{port}/graph-sink")
        queued: dict[int, float] = {}  # conversation id -> when the bot's answer was published (committed)
        stored: dict[int, float] = {}  # conversation id -> when the message and its turn were (bot.turn_queued)
        answered = threading.Condition()

        def on_turn(event: Any) -> None:
            stored.setdefault(int(event.payload["conversation_id"]), time.perf_counter())

        def on_queued(event: Any) -> None:
            if event.payload.get("origin") == "bot":
                with answered:
                    queued.setdefault(int(event.payload["conversation_id"]), time.perf_counter())
                    answered.notify_all()

        services.bus.subscribe("message.queued", on_queued)
        services.bus.subscribe("bot.turn_queued", on_turn)
        app = create_app(settings, services)
        _graph_sink(app)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        acked: list[tuple[str, float]] = []
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                for _ in range(200):
                    try:
                        if client.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.05)
                ts = int(time.time())
                for i in range(count + 5):  # the first 5 warm up (first encoder call, first queries)
                    sender = common.wa_id(7_000_000 + i)
                    body = payloads.encode(payloads.envelope(
                        common.WABA, common.PNID, common.DISPLAY, contacts=[payloads.contact(sender, f"Bench {i}")],
                        messages=[payloads.text(sender, TEXTS[i % len(TEXTS)], ts, msg_id=f"wamid.BOTE2E{i:08d}")]))
                    response = client.post(common.PATH, content=body, headers={
                        "Content-Type": "application/json", "X-Hub-Signature-256": sign(body, common.APP_SECRET)})
                    response.raise_for_status()
                    acked.append((sender, time.perf_counter()))
                    time.sleep(gap_s)
            deadline = time.monotonic() + 30
            with answered:
                while len(queued) < len(acked) and time.monotonic() < deadline:
                    answered.wait(0.5)
            latencies = _latencies(services, acked[5:], queued)
            inbound = _latencies(services, acked[5:], stored)  # the webhook's processing: message + turn stored
        finally:
            server.should_exit = True
            thread.join(20)
            services.dispose()
    ms = [x * 1000 for x in latencies.values()]
    return {"e2e_p50_ms": round(percentile(ms, 0.5), 1) if ms else None,
            "e2e_p99_ms": round(percentile(ms, 0.99), 1) if ms else None,
            "e2e_max_ms": round(max(ms), 1) if ms else None,
            # of which: the webhook processed (message and pending turn committed), the rest is the bot's
            "inbound_p50_ms": round(percentile([x * 1000 for x in inbound.values()], 0.5), 1) if inbound else None,
            "inbound_p99_ms": round(percentile([x * 1000 for x in inbound.values()], 0.99), 1) if inbound else None,
            "messages": len(ms), "unanswered": count - len(ms), "target_p99_ms": TARGET_P99_MS,
            "encoder": encoder or os.environ.get("CENTRALINO_BOT_ENCODER", "use"),
            "database": "postgresql" if url.startswith("postgresql") else "sqlite"}


def _latencies(services: Any, acked: list[tuple[str, float]], queued: dict[int, float]) -> dict[str, float]:
    from sqlalchemy import select

    from centralino.storage.tables import contact_identities, conversations

    with services.engine.connect() as conn:
        by_sender = {str(r.value): int(r.id) for r in conn.execute(
            select(contact_identities.c.value, conversations.c.id)
            .join(conversations, conversations.c.contact_id == contact_identities.c.contact_id)
            .where(contact_identities.c.value.in_([s for s, _ in acked])))}
    out = {}
    for sender, at in acked:
        cid = by_sender.get(sender)
        if cid is not None and cid in queued:
            out[sender] = queued[cid] - at
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bot_e2e", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 messages instead of 400")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--encoder", default=None, help="use (default) or tfidf")
    args = parser.parse_args(argv)
    result = measure(args.quick, database_url=args.database_url, encoder=args.encoder)
    print(json.dumps(result), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
