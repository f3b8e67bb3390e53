"""`centralino …`: serve, demo, worker, database and channel administration."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import sys
from typing import Any

from centralino.config import Mode, Settings, get_settings


def _configure_logging(spec: str) -> None:
    """CENTRALINO_LOG_LEVEL: a level for everything, then optional `logger=LEVEL` pairs, e.g.
    `INFO,centralino.workers.sender=DEBUG` (diagnostics of one part without the rest's noise)."""
    root, *pairs = [part.strip() for part in spec.split(",") if part.strip()] or ["INFO"]
    logging.getLogger().setLevel(root.upper())
    for pair in pairs:
        name, _, level = pair.partition("=")
        logging.getLogger(name.strip()).setLevel(level.strip().upper() or "DEBUG")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="centralino", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web service (and in-process workers unless --no-workers)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--no-workers", action="store_true")

    demo = sub.add_parser("demo", help="serve on embedded defaults with the Graph API simulator and demo data")
    demo.add_argument("--host")
    demo.add_argument("--port", type=int)

    worker = sub.add_parser("worker", help="run the workers only (several processes may run this)")
    worker.add_argument("--only", metavar="ROLES", help="run only these loops, comma-separated (e.g. sender)")
    worker.add_argument("--skip", metavar="ROLES", help="run every loop but these, comma-separated")

    from centralino.simulator import command as simulator_command

    simulator_command.add_parser(sub)

    from centralino.bot.nlu import command as nlu_command

    nlu_command.add_parser(sub)

    db = sub.add_parser("db", help="database administration")
    db.add_argument("action", choices=["upgrade"])

    channel = sub.add_parser("channel", help="manage channels")
    channel_sub = channel.add_subparsers(dest="action", required=True)
    channel_sub.add_parser("list")
    add = channel_sub.add_parser("add-whatsapp", help="connect a WhatsApp Cloud API number")
    add.add_argument("--name", required=True)
    add.add_argument("--phone-number-id", required=True)
    add.add_argument("--waba-id", required=True)
    add.add_argument("--display-number")
    add.add_argument("--graph-base-url")
    add.add_argument("--graph-version")
    add.add_argument("--messages-per-second", type=float,
                     help="this number's send rate (default CENTRALINO_SENDER_DEFAULT_MPS; Meta: 80, up to 1,000)")
    for secret in ("access-token", "app-secret", "verify-token"):
        add.add_argument(f"--{secret}-env", required=True, metavar="VAR",
                         help=f"name of the environment variable holding the {secret.replace('-', ' ')}")

    user = sub.add_parser("user", help="manage users (the first administrator; then the API)")
    user_sub = user.add_subparsers(dest="action", required=True)
    user_add = user_sub.add_parser("add", help="create a user who signs in with a password")
    user_add.add_argument("--email", required=True)
    user_add.add_argument("--role", required=True, choices=["agent", "supervisor", "admin"])
    user_add.add_argument("--name", help="display name (default: the email's local part)")
    user_add.add_argument("--language", choices=["it", "en"], default="it")
    user_add.add_argument("--department", action="append", default=[], metavar="NAME",
                          help="an existing department (repeatable)")
    user_add.add_argument("--password-env", metavar="VAR",
                          help="environment variable holding the password (default: ask, without echo)")

    sub.add_parser("check-config", help="validate settings as `serve` would")

    backfill = sub.add_parser("timeline-backfill",
                              help="build timeline entries for messages and events older than the timeline")
    backfill.add_argument("--chunk", type=int, default=2000, help="rows per transaction")

    args = parser.parse_args(argv)
    _configure_logging(os.environ.get("CENTRALINO_LOG_LEVEL", "INFO"))
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    handler = {"serve": _serve, "demo": _demo, "worker": _worker, "db": _db, "channel": _channel,
               "check-config": _check, "simulator": _simulator, "user": _user, "nlu": _nlu,
               "timeline-backfill": _timeline_backfill}[args.command]
    return handler(settings, args)


def _with_overrides(settings: Settings, args: argparse.Namespace, **extra: Any) -> Settings:
    updates = {k: v for k, v in (("host", getattr(args, "host", None)), ("port", getattr(args, "port", None)))
               if v is not None}
    return settings.model_copy(update={**updates, **extra})


def _check(settings: Settings, _args: argparse.Namespace) -> int:
    problems = settings.check_secrets()
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if not problems:
        print(f"ok: mode={settings.mode.value} database={settings.database_url.split('@')[-1]}")
    return 1 if problems else 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from centralino.web.app import create_app

    settings = _with_overrides(settings, args, **({"run_workers": False} if args.no_workers else {}))
    # The same reasons as the worker's (below): with the embedded workers the event loop that serves the
    # webhooks and the live desk shares the GIL with threads doing database work.
    sys.setswitchinterval(WORKER_SWITCH_INTERVAL_S)
    app = create_app(settings)
    _quiet_garbage_collector()
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from centralino import demo
    from centralino.demo_access import credentials_text
    from centralino.services import build_services

    settings = _with_overrides(settings, args)
    if settings.mode is Mode.PRODUCTION:
        print("error: `centralino demo` does not run in production mode", file=sys.stderr)
        return 2
    services = build_services(settings)
    app = demo.Demo(settings, services).build_app()
    base = f"http://{settings.host}:{settings.port}"
    print(f"\n  Centralino demo on {base}"
          f"\n  Agent desktop:    {base}/desk/  (sign in with one of the people below)"
          f"\n  API docs:         {base}/docs  (token: {settings.api_token.get_secret_value()})"
          f"\n  Customer phones:  {base}/simulator/  (the WhatsApp Cloud API simulator)"
          f"\n  Webhook:          POST {base}/webhooks/whatsapp  (app secret {demo.DEMO_APP_SECRET!r},"
          f" verify token {demo.DEMO_VERIFY_TOKEN!r})"
          f"\n  People (email, password; the API signs in at POST {base}/api/v1/auth/sign-in):"
          f"\n{credentials_text()}\n",
          flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
    return 0


def _simulator(_settings: Settings, args: argparse.Namespace) -> int:
    from centralino.simulator import command

    return command.run(args)


def _nlu(_settings: Settings, args: argparse.Namespace) -> int:
    from centralino.bot.nlu import command

    return command.run(args)


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from centralino.services import build_services
    from centralino.workers.runtime import WorkerRuntime, select_roles

    problems = settings.check_secrets()
    if problems:
        print("error: " + "; ".join(problems), file=sys.stderr)
        return 2
    try:
        roles = select_roles(args.only, args.skip)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    # The sender's event loop shares the GIL with threads doing database work: each time the loop
    # blocks in a system call (every socket read and write), a busy thread may keep the GIL for a
    # whole switch interval (5 ms by default) before the loop gets it back. A shorter interval keeps
    # sends on their slots (sends were up to ~250 ms late at 1,000/s with the default).
    sys.setswitchinterval(WORKER_SWITCH_INTERVAL_S)

    async def run() -> None:
        services = build_services(settings)
        services.directory.refresh()
        runtime = WorkerRuntime(services, roles=roles)
        _quiet_garbage_collector()
        runtime.start()
        try:
            await asyncio.Event().wait()
        finally:
            await runtime.stop()

    with contextlib.suppress(KeyboardInterrupt):
        _run_loop(run())
    return 0


WORKER_SWITCH_INTERVAL_S = 0.0005
# gen0 collections every this many container allocations (Python's default: 700).
WORKER_GC_GEN0_THRESHOLD = 20_000


def _quiet_garbage_collector() -> None:
    """Keep full collections short and rare in the worker. At 1,000 sends/s every send's task, claim
    and rows live about a second, long enough to reach the oldest generation, so Python ran a full
    collection every ~0.7 s, each 65-155 ms with the loop stopped (measured with gc.callbacks during
    bench.outbound): sends then left in bursts and Meta's per-second limit refused them (130429).
    Everything loaded at start-up (modules, SQLAlchemy's tables and compiled statements) is frozen
    out of the collector's reach, and young objects are collected in larger batches."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(WORKER_GC_GEN0_THRESHOLD, gen1, gen2)


def _run_loop(main: Any) -> None:
    """uvloop where installed (uvicorn[standard] brings it; the web processes run on it too): the
    sender's event loop costs about half as much CPU per send as asyncio's own."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


def _db(settings: Settings, args: argparse.Namespace) -> int:
    from centralino.storage.db import upgrade

    upgrade(settings.database_url)
    print("database at head")
    return 0


def _channel(settings: Settings, args: argparse.Namespace) -> int:
    from centralino.errors import CentralinoError
    from centralino.services import build_services
    from centralino.storage import channels as channel_repo

    services = build_services(settings)
    if args.action == "list":
        with services.engine.connect() as conn:
            for ch in channel_repo.load_all(conn, services.box):
                print(f"{ch.id}\t{ch.kind}\t{ch.address}\t{ch.account_id or ''}\t{ch.name}")
        return 0
    secrets = {}
    for name in ("access_token", "app_secret", "verify_token"):
        var = getattr(args, f"{name}_env")
        value = os.environ.get(var)
        if not value:
            print(f"error: environment variable {var} (for {name}) is empty or unset", file=sys.stderr)
            return 2
        secrets[name] = value
    # The channel keeps its own Graph API address and version: the installation's defaults when not given.
    config: dict[str, Any] = {"graph_base_url": args.graph_base_url or settings.graph_base_url,
                              "graph_version": args.graph_version or settings.graph_version}
    if args.messages_per_second is not None:
        if not 0 < args.messages_per_second <= 1000:
            print("error: --messages-per-second must be more than 0 and at most 1000", file=sys.stderr)
            return 2
        config["messages_per_second"] = args.messages_per_second
    try:
        with services.engine.begin() as conn:
            channel_id = channel_repo.create(
                conn, services.box, kind="whatsapp", name=args.name, address=args.phone_number_id,
                account_id=args.waba_id, display_address=args.display_number, config=config, secrets=secrets)
    except CentralinoError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    print(f"channel {channel_id} created")
    return 0


def _user(settings: Settings, args: argparse.Namespace) -> int:
    import getpass

    from centralino.demo_access import SETUP
    from centralino.domain.access import Language, Role
    from centralino.errors import CentralinoError
    from centralino.services import build_services
    from centralino.storage import users as user_repo

    if args.password_env:
        password = os.environ.get(args.password_env, "")
        if not password:
            print(f"error: environment variable {args.password_env} is empty or unset", file=sys.stderr)
            return 2
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 2
    services = build_services(settings)
    try:
        department_ids = []
        with services.engine.connect() as conn:
            for name in args.department:
                found = user_repo.department_by_name(conn, name)
                if found is None:
                    print(f"error: no department {name!r} (create it with POST /api/v1/departments)", file=sys.stderr)
                    return 2
                department_ids.append(found)
        created = services.admin.do_create_user(
            SETUP, email=args.email, display_name=args.name or args.email.split("@")[0], role=Role(args.role),
            password=password, language=Language(args.language), department_ids=department_ids)
    except CentralinoError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    finally:
        services.dispose()
    print(f"user {created['id']} created ({created['email']}, {created['role']})")
    return 0


def _timeline_backfill(settings: Settings, args: argparse.Namespace) -> int:
    """Idempotent (app/timeline_backfill.py): run it once after upgrading; running it again adds nothing."""
    from datetime import UTC, datetime

    from centralino.app.timeline_backfill import TimelineBackfill
    from centralino.storage.db import make_engine

    engine = make_engine(settings.database_url)
    try:
        report = TimelineBackfill(engine, lambda: datetime.now(UTC)).run(chunk=max(1, args.chunk))
    finally:
        engine.dispose()
    print(f"timeline backfill: {report.messages} message entries, {report.events} event entries added, "
          f"{report.skipped_events} events already there")
    return 0


if __name__ == "__main__":
    sys.exit(main())
