"""`centralino simulator`: run the simulator standalone (the CLI wiring lives here, not in cli.py)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from centralino.simulator import defaults as d


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    sim = subparsers.add_parser("simulator", help="run the local WhatsApp Cloud API simulator (docs/simulator.md)")
    sim.add_argument("--host", default=d.DEFAULT_HOST)
    sim.add_argument("--port", type=int, default=d.DEFAULT_PORT)
    sim.add_argument("--webhook-url", default=d.DEFAULT_WEBHOOK_URL,
                     help="where signed webhooks are POSTed ('' for nowhere)")
    sim.add_argument("--phone-number-id", default=d.DEMO_PNID)
    sim.add_argument("--waba-id", default=d.DEMO_WABA)
    sim.add_argument("--display-number", default=d.DEMO_DISPLAY)
    sim.add_argument("--app-secret", default=d.DEMO_APP_SECRET)
    sim.add_argument("--access-token", default=d.DEMO_ACCESS_TOKEN)
    sim.add_argument("--mps", type=int, default=d.DEFAULT_MPS, help="messages per second per number")
    sim.add_argument("--status-delays", default=",".join(str(x) for x in d.DEFAULT_STATUS_DELAYS),
                     help="seconds to sent,delivered,read ('-' for read: only on demand)")
    sim.add_argument("--pair-interval", type=float, default=d.DEFAULT_PAIR_INTERVAL,
                     help="seconds between two messages to the same customer")
    sim.add_argument("--pair-mode", choices=["strict", "burst", "record"], default="burst")
    sim.add_argument("--review-delay", type=float, default=1.0, help="seconds before a new template is reviewed")
    sim.add_argument("--unreachable", default="", help="comma-separated wa_ids that are not on WhatsApp")
    sim.add_argument("--webhook-batch", type=int, default=1,
                     help="merge queued webhooks into POSTs of up to N updates, like Meta under load")
    sim.add_argument("--public-url", help="where the simulator is reachable, for media URLs (default: per request)")
    sim.add_argument("--config", help="JSON file of SimulatorConfig fields (replaces the options above)")
    return sim  # type: ignore[no-any-return]


def build_config(args: argparse.Namespace) -> Any:
    from centralino.simulator.config import BusinessNumber, PairRate, SimulatorConfig, StatusDelays

    if args.config:
        return SimulatorConfig.from_file(args.config)
    number = BusinessNumber(args.phone_number_id, args.waba_id, args.display_number, args.access_token,
                            args.app_secret, webhook_url=args.webhook_url or None)
    demo = args.phone_number_id == d.DEMO_PNID
    return SimulatorConfig(
        numbers=(number,), delays=StatusDelays.parse(args.status_delays), mps=args.mps,
        pair_rate=PairRate(interval=args.pair_interval, mode=args.pair_mode),
        template_review_delay=args.review_delay, public_url=args.public_url, webhook_batch_max=args.webhook_batch,
        unreachable=frozenset(w.strip() for w in args.unreachable.split(",") if w.strip()),
        templates=d.DEMO_TEMPLATES if demo else (d.HELLO_WORLD,))


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from centralino.simulator.app import Simulator

    try:
        config = build_config(args)
    except (OSError, TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    simulator = Simulator(config)
    base = f"http://{args.host}:{args.port}"
    for n in config.numbers:
        print(f"  number {n.phone_number_id} (WABA {n.waba_id}, +{n.display_phone_number}): webhooks to "
              f"{n.webhook_url or 'nowhere'}")
    print(f"  Graph API {base}/{d.DEFAULT_GRAPH_VERSION}/…   phones {base}/   control API {base}/_sim/…\n", flush=True)
    freeze_survivors_of_full_collections()
    # No access log: the simulator keeps its own request log, and a line per send costs ~5% of its CPU
    uvicorn.run(simulator.app, host=args.host, port=args.port, log_level="info", access_log=False)
    return 0


def freeze_survivors_of_full_collections() -> None:
    """Keep the standalone simulator's full garbage collections short as its message store grows.

    Every accepted message stays in memory (history, webhook bodies), so each full collection walks
    all of them: 150-250 ms with the loop stopped after ~20,000 messages (measured with gc.callbacks
    during bench.outbound). Requests queued meanwhile were then counted in one burst against the
    number's per-second limit, refusing sends that had left evenly paced (130429). What survives a
    full collection is long-lived, so it is frozen out of the next ones; garbage cycles among frozen
    objects are never freed, which a dev tool's store that only grows can afford."""
    import gc

    def after(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info.get("generation") == 2:
            gc.freeze()

    gc.callbacks.append(after)
