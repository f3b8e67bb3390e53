"""Campaign benchmark: a 100,000-recipient campaign into the Graph API simulator (docs/campaigns.md).

    python -m bench.campaign [--quick]

Production shape, each its own process on a fresh PostgreSQL database: the simulator (`centralino
simulator`, Meta's limits on, 1,000/s per number, statuses sent and delivered at once), the web service
(`centralino serve --no-workers`: the status webhooks) and one worker (`centralino worker`: the campaign
feeder, the sender, the status processing).

1. 100,000 contacts tagged `bench` (set-based SQL), a utility template approved on both sides.
2. 1,000/s: a campaign on the segment is planned (`plan_s`: the use case, freezing every recipient's
   values), started, and the worker started; when about half is sent the worker is killed with SIGKILL
   and started again, and the campaign runs to the end. `duplicates`: messages the simulator accepted
   beyond one per recipient, plus messages it saw twice (same callback data), plus recipients with more
   than one campaign message in our database. The rate is measured over the steady stretch before the
   kill (3 s after the first acceptance, 1 s with --quick, to 1 s before the kill) from the simulator's own
   `sent` status timestamps (whole seconds, Meta's format) and, for comparison, from our acceptance times.
3. 80/s: a second campaign on the same 100,000 contacts (21 minutes at 80/s): the rate is measured over
   a steady stretch of --slow-seconds (120 s; 8 s with --quick), then the campaign is cancelled.

`peak_rss_mb` is the highest peak resident set (VmHWM) of the worker processes. The last line printed is
one JSON object with every figure and the settings used.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

from bench.ingest import Proc, Runner, free_port, peak_rss_mb, server_env
from centralino.config import Mode, Settings
from centralino.domain.access import Principal, Role
from centralino.services import Services, build_services
from centralino.storage import channels as channel_repo
from centralino.storage import deliveries
from centralino.storage import templates as template_repo
from centralino.storage.tables import messages, status_history
from centralino.storage.tables_campaigns import campaign_recipients

PNID, WABA, DISPLAY = "108880000000009", "208880000000009", "15550003333"
APP_SECRET, ACCESS_TOKEN, VERIFY_TOKEN = "bench-camp-secret", "bench-camp-token", "bench-camp-verify"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
BODY = "Ciao {{1}}, a {{2}} i saldi iniziano domani: codice {{3}}."
COMPONENTS = [{"type": "BODY", "text": BODY, "example": {"body_text": [["Giulia", "Milano", "X"]]}},
              {"type": "FOOTER", "text": "Rispondi STOP per non ricevere più"}]
ADMIN = Principal(role=Role.ADMIN, user_id=None, via="integration")
SENT = ("sent", "delivered", "read", "replied")


def say(msg: str) -> None:
    print(msg, flush=True)


class CampaignBench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="centralino-bench-campaign-"))
        self.runner = Runner(self.workdir)
        self.db_name = f"bench_campaign_{os.getpid()}"
        self.sim_port, self.web_port = free_port(), free_port()
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        self.workers: list[Proc] = []
        self.rss: list[float] = []
        self.env: dict[str, str] = {}
        self.services: Services
        self.channel_id = 0
        self.template_id = 0

    # --- processes --------------------------------------------------------------------------------

    def setup(self) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {self.db_name}")
        url = f"postgresql://postgres@127.0.0.1:5432/{self.db_name}"
        self.env = {**server_env(url, self.workdir),
                    # the sends in flight at the kill wait this long for a status naming them (--quick: 8 s,
                    # still far above the simulator's status delay; the sweep also waits for a webhook backlog)
                    "CENTRALINO_OUTBOX_LEASE_S": "5",
                    "CENTRALINO_SENDER_RECONCILE_WINDOW_S": "8" if self.args.quick else "20",
                    "CENTRALINO_DELIVERY_LEASE_S": "5", "CENTRALINO_WORKER_POLL_S": "0.2",
                    # sends in flight: no more than the rate margin (20 at 1,000/s), since what is in flight when
                    # the simulator stalls reaches it together (docs/outbound.md); 32 gave twice the 130429s
                    "CENTRALINO_SENDER_CONCURRENCY": os.environ.get("BENCH_SENDER_CONCURRENCY", "20")}
        if os.environ.get("CENTRALINO_LOG_LEVEL"):  # diagnostics, e.g. INFO,centralino.workers.sender=DEBUG
            self.env["CENTRALINO_LOG_LEVEL"] = os.environ["CENTRALINO_LOG_LEVEL"]
        settings = Settings(_env_file=None, database_url=url, mode=Mode.DEV,  # type: ignore[call-arg]
                            media_dir=self.workdir / "media", run_workers=False)
        self.services = build_services(settings, migrate=True)
        now = time.time()
        from datetime import UTC, datetime

        stamp = datetime.fromtimestamp(now, UTC)
        with self.services.engine.begin() as conn:
            self.channel_id = channel_repo.create(
                conn, self.services.box, kind="whatsapp", name="Bench campaigns", address=PNID, account_id=WABA,
                display_address=DISPLAY,
                config={"graph_base_url": self.sim_url, "graph_version": "v23.0", "messages_per_second": 1000},
                secrets={"app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN, "access_token": ACCESS_TOKEN})
            self.template_id = template_repo.insert_template(conn, {
                "account_id": WABA, "name": "saldi_bench", "language": "it", "category": "utility",
                "parameter_format": "positional", "components": COMPONENTS, "status": "approved",
                "created_at": stamp, "updated_at": stamp})
        self.services.directory.refresh()
        self.sim = self.runner.spawn("simulator", [
            "-m", "centralino.cli", "simulator", "--port", str(self.sim_port),
            "--webhook-url", f"http://127.0.0.1:{self.web_port}/webhooks/whatsapp",
            "--phone-number-id", PNID, "--waba-id", WABA, "--display-number", DISPLAY,
            "--app-secret", APP_SECRET, "--access-token", ACCESS_TOKEN, "--mps", "1000",
            "--status-delays", "0,0,-", "--pair-mode", "record", "--webhook-batch", "100"], self.env)
        self.web = self.runner.spawn("web", ["-m", "centralino.cli", "serve", "--no-workers", "--port",
                                             str(self.web_port)], self.env)
        self._wait_http(f"{self.sim_url}/_sim/stats", self.sim)
        self._wait_http(f"http://127.0.0.1:{self.web_port}/healthz", self.web)
        httpx.post(f"{self.sim_url}/_sim/templates", timeout=10, json={
            "name": "saldi_bench", "language": "it", "category": "UTILITY", "components": COMPONENTS,
        }).raise_for_status()

    def _wait_http(self, url: str, proc: Proc) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise SystemExit(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"{proc.name} did not answer within 60 s:\n{proc.tail()}")

    def start_worker(self) -> None:
        """Production's shape: the sender in a process of its own, every other loop in another (so the
        sender's event loop shares its GIL with no other loop's database work); --single-worker: one."""
        shapes = [("worker", [])] if self.args.single_worker else [
            ("sender", ["--only", "sender"]), ("worker", ["--skip", "sender"])]
        for name, roles in shapes:
            args = ["-m", "centralino.cli", "worker", *roles]
            if os.environ.get("BENCH_PROFILE_WORKER"):  # diagnostics: cProfile of each worker, written at stop
                args = ["-m", "cProfile", "-o", f"{os.environ['BENCH_PROFILE_WORKER']}.{name}.{len(self.rss)}",
                        *args]
            self.workers.append(self.runner.spawn(name, args, self.env))

    def stop_worker(self, kill: bool = False) -> None:
        for worker in self.workers:
            self.rss.append(peak_rss_mb(worker.popen.pid))
            if kill:
                worker.popen.send_signal(signal.SIGKILL)
                worker.popen.wait(10)
            else:
                worker.stop()
        self.workers = []

    def teardown(self) -> None:
        self.runner.stop_all()
        self.services.dispose()
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")
        if not os.environ.get("BENCH_KEEP_WORKDIR"):  # diagnostics: keep the processes' logs
            shutil.rmtree(self.workdir, ignore_errors=True)

    # --- data -------------------------------------------------------------------------------------

    def contacts(self, n: int) -> None:
        t0 = time.perf_counter()
        with self.services.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO contacts (display_name, created_at, updated_at, attributes, language) "
                "SELECT 'Cliente ' || g, now(), now(), jsonb_build_object('city', "
                "(ARRAY['Milano','Roma','Torino','Napoli'])[1 + g % 4]), 'it' FROM generate_series(1, :n) g"),
                {"n": n})
            conn.execute(text(
                "INSERT INTO contact_identities (contact_id, kind, value, created_at) "
                "SELECT id, 'whatsapp', '3932' || lpad(id::text, 8, '0'), now() FROM contacts"))
            conn.execute(text("INSERT INTO contact_tags (contact_id, tag, created_at) "
                              "SELECT id, 'bench', now() FROM contacts"))
        say(f"  {n:,} contacts with a WhatsApp identity and the tag 'bench' in {time.perf_counter() - t0:.1f}s")

    def campaign(self, rate: float) -> tuple[int, float]:
        campaigns = self.services.campaigns
        assert campaigns is not None
        campaign_id = int(campaigns.do_create(ADMIN, {
            "name": f"Bench {rate:g}/s", "channel_id": self.channel_id, "template_id": self.template_id,
            "audience": {"tags": ["bench"]}, "rate_per_s": rate, "daily_tier": "unlimited",
            "parameters": {"1": {"field": "display_name"}, "2": {"attribute": "city"}, "3": {"text": "SALDI"}},
        })["id"])
        t0 = time.perf_counter()
        planned = campaigns.do_plan(ADMIN, campaign_id)
        plan_s = time.perf_counter() - t0
        say(f"  planned {planned['recipients_total']:,} recipients in {plan_s:.2f}s")
        return campaign_id, plan_s

    def sent(self, campaign_id: int) -> int:
        r = campaign_recipients.c
        with self.services.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(campaign_recipients).where(
                r.campaign_id == campaign_id, r.state.in_(SENT))).scalar_one())

    def wait_sent(self, campaign_id: int, target: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        done = 0
        shown = time.monotonic()
        while time.monotonic() < deadline:
            done = self.sent(campaign_id)
            if time.monotonic() - shown >= 10:
                say(f"    {done:,} sent")
                shown = time.monotonic()
            if done >= target:
                return done
            for worker in self.workers:
                if worker.popen.poll() is not None:
                    raise SystemExit(f"the {worker.name} process exited:\n{worker.tail()}")
            time.sleep(0.5)
        return done

    def wait_statuses(self, timeout: float = 120) -> None:
        """Until the status webhooks received so far are processed (the simulator's timestamps are in them)."""
        deadline = time.monotonic() + timeout
        time.sleep(1)
        while time.monotonic() < deadline:
            with self.services.engine.connect() as conn:
                if deliveries.counts(conn).get("pending", 0) == 0:
                    return
            time.sleep(0.5)

    def sim_stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = httpx.get(f"{self.sim_url}/_sim/stats", timeout=10).json()
        number: dict[str, Any] = stats.get("numbers", {}).get(PNID, {})
        return number

    def rates(self, campaign_id: int, start: float, end: float, rate: float) -> dict[str, Any]:
        """Sends per second in [start, end): from the simulator's `sent` timestamps (whole seconds, so the
        window is cut to whole seconds) and from our own acceptance times."""
        m, s = messages.c, status_history.c
        origin = f"campaign:{campaign_id}"
        a, b = math.ceil(start), math.floor(end)
        with self.services.engine.connect() as conn:
            sim_count = int(conn.execute(select(func.count()).select_from(status_history).join(
                messages, m.id == s.message_id).where(m.origin == origin, s.raw_status == "sent",
                                                       s.occurred_at >= _dt(a), s.occurred_at < _dt(b))).scalar_one())
            ours = int(conn.execute(select(func.count()).select_from(messages).where(
                m.origin == origin, m.accepted_at >= _dt(start), m.accepted_at < _dt(end))).scalar_one())
            by_second = dict(conn.execute(select(s.occurred_at, func.count()).select_from(status_history).join(
                messages, m.id == s.message_id).where(m.origin == origin, s.raw_status == "sent",
                                                       s.occurred_at >= _dt(a), s.occurred_at < _dt(b))
                .group_by(s.occurred_at)).all())
        # whole seconds: a second without any send counts as 0 (a stall shows as a dip, not as a shorter window)
        seconds = sorted(by_second.get(_dt(t), 0) for t in range(a, b))
        sim_rate = sim_count / (b - a) if b > a else float("nan")
        our_rate = ours / (end - start) if end > start else float("nan")
        return {"window_s": b - a, "measured_per_s": round(sim_rate, 1), "precision": round(sim_rate / rate, 4),
                "measured_per_s_ours": round(our_rate, 1), "precision_ours": round(our_rate / rate, 4),
                "per_second_min_median_max": [seconds[0], seconds[len(seconds) // 2], seconds[-1]] if seconds else []}

    def first_accept(self, campaign_id: int) -> float:
        with self.services.engine.connect() as conn:
            at = conn.execute(select(func.min(messages.c.accepted_at)).where(
                messages.c.origin == f"campaign:{campaign_id}")).scalar()
        return at.timestamp() if at is not None else time.time()

    def duplicates(self, campaign_id: int, recipients: int, before: dict[str, Any]) -> dict[str, Any]:
        after = self.sim_stats()
        accepted = int(after.get("accepted", 0)) - int(before.get("accepted", 0))
        again = (int(after.get("duplicates", {}).get("callback_data", 0))
                 - int(before.get("duplicates", {}).get("callback_data", 0)))
        with self.services.engine.connect() as conn:
            doubled_recipients = int(conn.execute(text(
                "SELECT count(*) FROM (SELECT contact_id FROM messages WHERE origin = :o GROUP BY contact_id "
                "HAVING count(*) > 1) x"), {"o": f"campaign:{campaign_id}"}).scalar_one())
        return {"simulator_accepted": accepted, "recipients": recipients,
                "beyond_one_per_recipient": max(0, accepted - recipients), "callback_data_twice": again,
                "recipients_with_two_messages": doubled_recipients,
                "missing": max(0, recipients - accepted),
                "duplicates": max(0, accepted - recipients) + again + doubled_recipients}

    # --- runs -------------------------------------------------------------------------------------

    def fast_run(self, n: int) -> dict[str, Any]:
        say(f"== 1,000/s: {n:,} recipients, the worker killed with SIGKILL about half way")
        campaign_id, plan_s = self.campaign(1000)
        before = self.sim_stats()
        assert self.services.campaigns is not None
        self.services.campaigns.do_start(ADMIN, campaign_id)
        self.start_worker()
        at_kill = self.wait_sent(campaign_id, n // 2, timeout=n / 100 + 120)  # generous: a shared machine
        killed_at = time.time()
        self.stop_worker(kill=True)
        say(f"  killed the worker with {at_kill:,}/{n:,} sent")
        self.start_worker()
        done = self.wait_sent(campaign_id, n, timeout=n / 100 + 180)
        self.wait_statuses()
        self.stop_worker()
        start = self.first_accept(campaign_id) + (1 if self.args.quick else 3)
        steady = self.rates(campaign_id, start, killed_at - 1, 1000)
        dup = self.duplicates(campaign_id, n, before)
        say(f"  steady {steady['measured_per_s']:,}/s over {steady['window_s']}s (simulator) = precision "
            f"{steady['precision']:.4f} (ours {steady['measured_per_s_ours']:,}/s); after the restart {done:,}/{n:,} "
            f"sent; simulator accepted {dup['simulator_accepted']:,}; duplicates {dup['duplicates']}")
        return {"configured_per_s": 1000, "recipients": n, "plan_s": round(plan_s, 2), "sent_at_kill": at_kill,
                "sent": done, **steady, **dup}

    def slow_run(self, n: int, seconds: float) -> dict[str, Any]:
        say(f"== 80/s: {n:,} recipients (about {n / 80 / 60:.0f} minutes in all): measured over {seconds:g}s "
            "of steady sending, then cancelled")
        campaign_id, plan_s = self.campaign(80)
        assert self.services.campaigns is not None
        self.services.campaigns.do_start(ADMIN, campaign_id)
        self.start_worker()
        self.wait_sent(campaign_id, 1, timeout=60)
        start = self.first_accept(campaign_id) + 3
        time.sleep(max(0.0, start + seconds + 1 - time.time()))
        end = start + seconds
        sent = self.sent(campaign_id)
        self.services.campaigns.do_cancel(ADMIN, campaign_id)
        time.sleep(3)  # what was already handed to the sender goes out
        self.wait_statuses()
        self.stop_worker()
        steady = self.rates(campaign_id, start, end, 80)
        say(f"  steady {steady['measured_per_s']}/s over {steady['window_s']}s (simulator) = precision "
            f"{steady['precision']:.4f} (ours {steady['measured_per_s_ours']}/s); {sent:,} sent, then cancelled")
        return {"configured_per_s": 80, "recipients": n, "plan_s": round(plan_s, 2), "sent_before_cancel": sent,
                **steady}

    def run(self) -> dict[str, Any]:
        a = self.args
        started = time.perf_counter()
        say(f"machine: {os.cpu_count()} cores, CPython {platform.python_version()}; PostgreSQL database "
            f"{self.db_name}; simulator at 1,000 mps with the pair rule recorded")
        self.setup()
        try:
            self.contacts(a.recipients)
            fast = self.fast_run(a.recipients)
            slow = self.slow_run(a.recipients, a.slow_seconds)
            stats = self.sim_stats()
        finally:
            self.teardown()
        return {
            "rate_precision": fast["precision"], "rate_precision_80": slow["precision"],
            "measured_per_s_1000": fast["measured_per_s"], "measured_per_s_80": slow["measured_per_s"],
            "plan_s": fast["plan_s"], "plan_s_80": slow["plan_s"],
            "peak_rss_mb": round(max(self.rss), 1), "duplicates": fast["duplicates"], "missing": fast["missing"],
            "pair_violations": stats.get("pair_violations", 0),
            "rate_refusals_130429": int(stats.get("refused", {}).get("130429", 0)),
            "runs": {"rate_1000": fast, "rate_80": slow, "worker_peak_rss_mb": [round(x, 1) for x in self.rss]},
            "settings": {"quick": a.quick, "recipients": a.recipients, "slow_seconds": a.slow_seconds,
                         "worker_processes": 1 if a.single_worker else 2,
                         "cores": os.cpu_count(), "python": platform.python_version(),
                         "total_s": round(time.perf_counter() - started, 1)},
        }


def _dt(seconds: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.campaign", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="15,000 recipients, the rate measured from 1 s after the first acceptance, and 8 s at 80/s "
                   "(under a minute)")
    p.add_argument("--recipients", type=int, help="recipients (100,000; 15,000 with --quick)")
    p.add_argument("--single-worker", action="store_true",
                   help="one `centralino worker` with every loop (default: the sender in a process of its own)")
    p.add_argument("--slow-seconds", type=float, help="steady seconds measured at 80/s (120; 8 with --quick)")
    a = p.parse_args(argv)
    a.recipients = a.recipients or (15_000 if a.quick else 100_000)
    a.slow_seconds = a.slow_seconds or (8.0 if a.quick else 120.0)
    result = CampaignBench(a).run()
    print(json.dumps(result, separators=(",", ":"), default=str))


if __name__ == "__main__":
    sys.exit(main())
