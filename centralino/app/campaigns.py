"""Campaign use cases: create (segment or CSV), plan, schedule/start, pause, resume, cancel, retry-failed,
progress and the funnel export (docs/campaigns.md). Supervisors and administrators only.

Planning freezes each recipient's template values (and the template's definition on the campaign) so
what is sent is what was planned, however long the campaign runs. The feeder (app/campaign_feed.py,
workers/campaigns.py) sends a running campaign.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from centralino.app.campaign_audience import (
    MAX_REPORTED,
    Candidate,
    Rejected,
    Segment,
    csv_candidates,
    parse_csv,
    segment_candidates,
)
from centralino.app.campaign_feed import CampaignFeeder, consent_decisions, wire
from centralino.app.campaign_render import CampaignRenderer, check_definition
from centralino.app.channel_directory import ChannelDirectory
from centralino.app.consent import ConsentService
from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.config import Settings
from centralino.domain.access import Principal, Role
from centralino.domain.campaigns import (
    FUNNEL,
    ON_TIER_LIMIT,
    CampaignStatus,
    RecipientState,
    check_transition,
    tier_limit,
)
from centralino.domain.consent import Action
from centralino.domain.media_rules import check_file
from centralino.errors import Conflict, Forbidden, InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.gc_pause import gc_paused
from centralino.storage import campaigns as repo
from centralino.storage import outbound_media as media_repo
from centralino.storage import templates as template_repo

RATE_WINDOW = timedelta(seconds=10)  # the progress's "current rate" is measured over this much


def _utcnow() -> datetime:
    return datetime.now(UTC)


def install_campaigns(settings: Settings, engine: Engine, directory: ChannelDirectory, bus: EventBus,
                      consent: ConsentService) -> CampaignService:
    """The campaign use cases, with the recipients' in-transaction ticks on the bus (services.py)."""
    wire(bus)
    return CampaignService(engine, directory, bus, consent, default_tier=settings.campaign_default_tier,
                           default_mps=settings.sender_default_mps)


def check_may_run_campaigns(principal: Principal) -> None:
    if principal.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden("campaigns are for supervisors and administrators", code="campaign.forbidden")


class CampaignService:
    def __init__(self, engine: Engine, directory: ChannelDirectory, bus: EventBus | None, consent: ConsentService,
                 *, default_tier: str = "1k", default_mps: float = 80.0,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.directory = directory
        self.bus = bus
        self.consent = consent
        self.default_tier = default_tier
        self.default_mps = default_mps
        self.clock = clock
        self.feeder = CampaignFeeder(engine, bus, consent)

    # --- creating and planning ------------------------------------------------------------------------------

    def do_create(self, principal: Principal, body: Mapping[str, Any]) -> dict[str, Any]:
        """A draft campaign on a segment (plan it next) — body: name, channel_id, template_id, audience
        {tags, attributes, consent}, parameters, start_at, rate_per_s, daily_tier, on_tier_limit."""
        check_may_run_campaigns(principal)
        segment = Segment.parse(body.get("audience") or {})
        with unit_of_work(self.engine, self.bus) as uow:
            values = self._check_definition(uow, body)
            values["audience"] = segment.as_dict()
            campaign_id = repo.insert_campaign(uow.conn, {**values, "created_by": principal.user_id})
            uow.emit("campaign.created", campaign_id=campaign_id, actor=principal.actor)
        return self.get(campaign_id)

    def do_create_from_csv(self, principal: Principal, body: Mapping[str, Any], data: bytes,
                           filename: str | None = None) -> dict[str, Any]:
        """A draft campaign on an uploaded CSV, planned at once (contacts created for unknown numbers);
        the campaign with its plan report (rejected rows and why)."""
        check_may_run_campaigns(principal)
        good, rejected = parse_csv(data)
        with unit_of_work(self.engine, self.bus) as uow:
            values = self._check_definition(uow, body, from_csv=True)
            values["audience"] = {"kind": "csv", "filename": filename, "rows": len(good) + len(rejected)}
            campaign_id = repo.insert_campaign(uow.conn, {**values, "created_by": principal.user_id})
            now = self.clock()
            candidates, lines = csv_candidates(uow.conn, good, now)
            with gc_paused():
                self._plan(uow, repo.get(uow.conn, campaign_id) or {}, candidates, rejected, now, lines)
            uow.emit("campaign.created", campaign_id=campaign_id, actor=principal.actor)
        return self.get(campaign_id)

    def do_plan(self, principal: Principal, campaign_id: int) -> dict[str, Any]:
        """(Re)plan a segment campaign in draft: its recipients and their frozen values, replacing any plan."""
        check_may_run_campaigns(principal)
        with unit_of_work(self.engine, self.bus) as uow:
            campaign = self._get(uow, campaign_id, lock=True)
            if campaign["status"] != CampaignStatus.DRAFT.value:
                raise Conflict("only a draft campaign can be planned", field="status", code="campaign.not_draft")
            if campaign["audience"].get("kind") != "segment":
                raise Conflict("a CSV campaign is planned when the file is uploaded; upload it again for a new plan",
                               code="campaign.csv_planned")
            segment = Segment.parse(campaign["audience"])
            with gc_paused():  # only allocates until it commits (gc_pause.py)
                self._plan_segment(uow, campaign, segment)
        return self.get(campaign_id)

    def _plan_segment(self, uow: UnitOfWork, campaign: Mapping[str, Any], segment: Segment) -> None:
        """The segment's candidates (one query), the consent filter, then each recipient rendered."""
        candidates = segment_candidates(uow.conn, segment)
        rejected: list[Rejected] = []
        if segment.consent != "any" and candidates:
            decisions = consent_decisions(self.consent, uow.conn, [x.contact_id for x in candidates],
                                          int(campaign["channel_id"]), campaign["template_category"])
            keep = []
            for x in candidates:
                d = decisions.get(x.contact_id)
                ok = d is not None and d.allowed and (segment.consent != "opted_in" or (
                    d.record is not None and d.record.action is Action.OPT_IN))
                if ok:
                    keep.append(x)
                else:
                    rejected.append(Rejected(None, x.contact_id, x.fields.get("phone"),
                                             "consent: " + (d.reason if d is not None else "no decision")))
            candidates = keep
        self._plan(uow, campaign, candidates, rejected, self.clock(), None)

    def _renderer(self, conn: Connection, campaign: Mapping[str, Any]) -> tuple[list[Any], CampaignRenderer]:
        """The template's definition (snapshot) and the campaign's renderer over the template's languages."""
        template = template_repo.get(conn, int(campaign["template_id"]))
        if template is None:
            raise NotFound("the campaign's template no longer exists", field="template_id")
        languages = template_repo.languages_of(conn, str(template["account_id"]), str(template["name"]))
        return template["components"], CampaignRenderer(campaign, languages)

    def _planned(self, uow: UnitOfWork, campaign: Mapping[str, Any], components: list[dict[str, Any]], planned: int,
                 rejected: int, rejected_rows: list[dict[str, Any]], now: datetime) -> None:
        report = {"planned": planned, "rejected": rejected, "rejected_rows": rejected_rows}
        repo.update_campaign(uow.conn, int(campaign["id"]), {
            "template_components": components, "recipients_total": planned, "rejected_total": rejected,
            "plan_report": report, "planned_at": now, "updated_at": now})
        uow.emit("campaign.planned", campaign_id=int(campaign["id"]), planned=planned, rejected=rejected)

    def _plan(self, uow: UnitOfWork, campaign: Mapping[str, Any], candidates: list[Candidate],
              rejected: list[Rejected], now: datetime, lines: list[int] | None) -> None:
        """Each recipient's message rendered and frozen (one render per recipient, the template parsed once
        per language); a recipient whose own data cannot fill it is rejected with the reason."""
        conn = uow.conn
        components, renderer = self._renderer(conn, campaign)
        campaign_id, channel_id = int(campaign["id"]), int(campaign["channel_id"])
        planned = RecipientState.PLANNED.value

        def recipients() -> Iterator[tuple[Any, ...]]:  # rendered while the ones before are being stored
            for i, x in enumerate(candidates):
                try:
                    content = renderer.render(x.fields, x.contact_id, x.columns)
                except InvalidInput as exc:
                    rejected.append(Rejected(lines[i] if lines else None, x.contact_id, x.fields.get("phone"),
                                             exc.message))
                    continue
                yield (campaign_id, x.contact_id, channel_id, x.recipient_kind, x.recipient, content, planned, 0,
                       now)

        repo.delete_recipients(conn, campaign_id)
        written = repo.insert_recipients(conn, recipients())
        self._planned(uow, campaign, components, written, len(rejected),
                      [r.as_dict() for r in rejected[:MAX_REPORTED]], now)

    def _check_definition(self, uow: UnitOfWork, body: Mapping[str, Any], *,
                          from_csv: bool = False) -> dict[str, Any]:
        name = str(body.get("name") or "").strip()
        if not name or len(name) > 200:
            raise InvalidInput("give the campaign a name (up to 200 characters)", field="name",
                               code="campaign.bad_name", status=422)
        channel = self.directory.by_id(_int(body.get("channel_id"), "channel_id"))
        if channel is None or channel.kind != "whatsapp":
            raise InvalidInput("no WhatsApp channel with this id", field="channel_id", code="campaign.bad_channel",
                               status=422)
        template = template_repo.get(uow.conn, _int(body.get("template_id"), "template_id"))
        if template is None or template["account_id"] != channel.account_id:
            raise InvalidInput("no template with this id on the channel's WhatsApp account", field="template_id",
                               code="campaign.bad_template", status=422)
        limit = _channel_rate(channel.config, self.default_mps)
        rate = float(body.get("rate_per_s") or limit)
        if not 0 < rate <= limit:
            raise InvalidInput(f"the rate must be above 0 and at most the number's {limit:g} messages/s",
                               field="rate_per_s", code="campaign.bad_rate", status=422)
        tier = str(body.get("daily_tier") or self.default_tier)
        tier_limit(tier)
        on_limit = str(body.get("on_tier_limit") or "wait")
        if on_limit not in ON_TIER_LIMIT:
            raise InvalidInput("on_tier_limit is wait or skip", field="on_tier_limit", code="campaign.bad_tier",
                               status=422)
        header = check_definition(template, body.get("parameters"), from_csv=from_csv)
        if header is not None and header.media_id is not None:  # the same checks as OutboundService's
            upload = media_repo.get(uow.conn, header.media_id)
            if upload is None:
                raise InvalidInput(f"no uploaded media {header.media_id} (upload it with POST /api/v1/media)",
                                   field="parameters.header.media_id", code="media.not_found", status=422)
            check_file(header.kind, upload["mime_type"], int(upload["size"]), animated=bool(upload["animated"]),
                       field="parameters.header.media_id")
        now = self.clock()
        return {"name": name, "channel_id": channel.id, "template_id": int(template["id"]),
                "template_name": template["name"], "template_language": template["language"],
                "template_category": template["category"], "parameters": dict(body.get("parameters") or {}),
                "start_at": _when(body.get("start_at")), "rate_per_s": rate, "daily_tier": tier,
                "on_tier_limit": on_limit, "status": CampaignStatus.DRAFT.value, "recipients_total": 0,
                "rejected_total": 0, "created_at": now, "updated_at": now}

    # --- running --------------------------------------------------------------------------------------------

    def do_start(self, principal: Principal, campaign_id: int, start_at: Any = None) -> dict[str, Any]:
        """Start now, or schedule for `start_at` (or the campaign's own start_at when in the future)."""
        check_may_run_campaigns(principal)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            campaign = self._get(uow, campaign_id, lock=True)
            if campaign["planned_at"] is None or not campaign["recipients_total"]:
                raise Conflict("plan the campaign first: it has no recipients", code="campaign.not_planned")
            template = template_repo.get(uow.conn, int(campaign["template_id"]))
            if template is None or template["status"] != "approved":
                raise Conflict("the template is not approved (now: "
                               f"{template['status'] if template else 'deleted'}): it cannot be sent",
                               field="template_id", code="campaign.template_not_approved")
            at = _when(start_at) or campaign["start_at"]
            target = CampaignStatus.SCHEDULED if at is not None and at > now else CampaignStatus.RUNNING
            self._move(uow, campaign, target, now, start_at=at,
                       **({"started_at": now} if target is CampaignStatus.RUNNING else {}))
        return self.get(campaign_id)

    def do_pause(self, principal: Principal, campaign_id: int) -> dict[str, Any]:
        return self._simple(principal, campaign_id, CampaignStatus.PAUSED)

    def do_resume(self, principal: Principal, campaign_id: int) -> dict[str, Any]:
        check_may_run_campaigns(principal)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            campaign = self._get(uow, campaign_id, lock=True)
            if campaign["status"] != CampaignStatus.PAUSED.value:
                raise Conflict("only a paused campaign can be resumed", field="status", code="campaign.not_paused")
            at = campaign["start_at"]
            target = CampaignStatus.SCHEDULED if at is not None and at > now else CampaignStatus.RUNNING
            self._move(uow, campaign, target, now)
        return self.get(campaign_id)

    def do_cancel(self, principal: Principal, campaign_id: int) -> dict[str, Any]:
        check_may_run_campaigns(principal)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            campaign = self._get(uow, campaign_id, lock=True)
            self._move(uow, campaign, CampaignStatus.CANCELLED, now, finished_at=now)
            repo.cancel_planned(uow.conn, campaign_id, now)
        return self.get(campaign_id)

    def do_retry_failed(self, principal: Principal, campaign_id: int) -> dict[str, Any]:
        """Failed recipients planned again (each gets a new message); the campaign runs again."""
        check_may_run_campaigns(principal)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            campaign = self._get(uow, campaign_id, lock=True)
            if campaign["status"] not in (CampaignStatus.RUNNING.value, CampaignStatus.PAUSED.value,
                                          CampaignStatus.COMPLETED.value):
                raise Conflict("only a started campaign has failures to retry", code="campaign.not_started")
            retried = repo.retry_failed(uow.conn, campaign_id)
            if retried and campaign["status"] == CampaignStatus.COMPLETED.value:
                self._move(uow, campaign, CampaignStatus.RUNNING, now, finished_at=None)
            uow.emit("campaign.retried", campaign_id=campaign_id, recipients=retried, actor=principal.actor)
        return {**self.get(campaign_id), "retried": retried}

    def _simple(self, principal: Principal, campaign_id: int, target: CampaignStatus) -> dict[str, Any]:
        check_may_run_campaigns(principal)
        with unit_of_work(self.engine, self.bus) as uow:
            self._move(uow, self._get(uow, campaign_id, lock=True), target, self.clock())
        return self.get(campaign_id)

    def _move(self, uow: UnitOfWork, campaign: Mapping[str, Any], target: CampaignStatus, now: datetime,
              **values: Any) -> None:
        check_transition(campaign["status"], target)
        repo.update_campaign(uow.conn, int(campaign["id"]), {"status": target.value, "updated_at": now, **values})
        uow.emit("campaign.status_changed", campaign_id=int(campaign["id"]), status=target.value,
                 previous=campaign["status"])

    def start_due(self) -> list[int]:
        """Scheduled campaigns whose time has come start running (the feeder calls this)."""
        now = self.clock()
        started = []
        with unit_of_work(self.engine, self.bus) as uow:
            for campaign in repo.with_status(uow.conn, [CampaignStatus.SCHEDULED.value]):
                if campaign["start_at"] is None or campaign["start_at"] <= now:
                    self._move(uow, campaign, CampaignStatus.RUNNING, now, started_at=now)
                    started.append(int(campaign["id"]))
        return started

    # --- reading --------------------------------------------------------------------------------------------

    def _get(self, uow: UnitOfWork, campaign_id: int, *, lock: bool = False) -> dict[str, Any]:
        found = repo.get(uow.conn, campaign_id, lock=lock)
        if found is None:
            raise NotFound(f"no campaign {campaign_id}", field="campaign_id")
        return found

    def get(self, campaign_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            found = repo.get(conn, campaign_id)
        if found is None:
            raise NotFound(f"no campaign {campaign_id}", field="campaign_id")
        return found

    def progress(self, campaign_id: int) -> dict[str, Any]:
        """Counts per state, the rate over the last seconds and the time left at the configured rate."""
        now = self.clock()
        with self.engine.connect() as conn:
            campaign = repo.get(conn, campaign_id)
            if campaign is None:
                raise NotFound(f"no campaign {campaign_id}", field="campaign_id")
            counts = repo.counts(conn, campaign_id)
            recent = repo.sent_since(conn, campaign_id, now - RATE_WINDOW)
        by_state = {s.value: counts.get(s.value, 0) for s in FUNNEL}
        total = sum(by_state.values())
        waiting = by_state["planned"] + by_state["queued"]
        done = total - waiting
        rate = recent / RATE_WINDOW.total_seconds()
        pace = rate if campaign["status"] == CampaignStatus.RUNNING.value and rate > 0 else campaign["rate_per_s"]
        return {"campaign_id": campaign_id, "status": campaign["status"], "total": total, "counts": by_state,
                "done": done, "percent": round(100.0 * done / total, 1) if total else 0.0,
                "rate_per_s": round(rate, 1), "configured_rate_per_s": campaign["rate_per_s"],
                "eta_s": round(waiting / pace) if waiting and campaign["status"] == CampaignStatus.RUNNING.value
                else None, "waiting_reason": campaign["waiting_reason"]}

    def recipients(self, campaign_id: int, state: str | None, after_id: int, limit: int) -> list[dict[str, Any]]:
        if state is not None and state not in {s.value for s in FUNNEL}:
            raise InvalidInput("unknown recipient state", field="state", code="campaign.bad_state", status=422)
        self.get(campaign_id)
        with self.engine.connect() as conn:
            return repo.list_recipients(conn, campaign_id, state, after_id, max(1, min(limit, 500)))

    def funnel_csv(self, campaign_id: int) -> Iterator[str]:
        """The per-recipient funnel, as CSV text, chunk by chunk."""
        self.get(campaign_id)
        columns = ["recipient_id", "contact_id", "recipient", "state", "message_id", "attempts", "error_code",
                   "error", "planned_at", "queued_at", "sent_at", "delivered_at", "read_at", "replied_at",
                   "failed_at"]
        yield _csv_line(columns)
        with self.engine.connect() as conn:
            for rows in repo.iter_funnel(conn, campaign_id):
                out = io.StringIO()
                writer = csv.writer(out)
                for row in rows:
                    writer.writerow([_cell(row["id" if c == "recipient_id" else c]) for c in columns])
                yield out.getvalue()


def _csv_line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    # a spreadsheet would run a cell starting with these as a formula (CSV injection)
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not text.lstrip("+-").isdigit() else text


def _int(value: Any, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{field} must be a number", field=field, code="campaign.bad_id", status=422) from exc


def _when(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        at = value
    else:
        try:
            at = datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise InvalidInput("start_at must be an ISO 8601 time", field="start_at", code="campaign.bad_time",
                               status=422) from exc
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _channel_rate(config: Mapping[str, Any], default: float) -> float:
    try:
        return float(config.get("messages_per_second") or default)
    except (TypeError, ValueError):
        return default
