"""Reports over customer contacts (service_episodes), SLA timers and CSAT surveys for a range of local days,
with filters; plain SQL aggregates (COUNT, SUM, AVG over integer seconds) that run the same on SQLite and
PostgreSQL. Every figure is defined in docs/service-levels.md."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Engine, and_, case, func, or_, select

from centralino.domain.access import Principal, Role
from centralino.errors import Forbidden, InvalidInput
from centralino.storage.tables import channels, conversations, users
from centralino.storage.tables_routing import routing_queues
from centralino.storage.tables_service_levels import csat_surveys, service_episodes, sla_timers

MAX_DAYS = 366
e, t, s = service_episodes.c, sla_timers.c, csat_surveys.c


def _utcnow() -> datetime:
    return datetime.now(UTC)


def check_reads_reports(principal: Principal) -> None:
    if principal.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden("reports are for supervisors and administrators", code="reports.forbidden")


@dataclass(frozen=True)
class ReportQuery:
    first_day: date
    last_day: date  # included
    channel_id: int | None = None
    queue_id: int | None = None
    agent_id: int | None = None

    def check(self) -> None:
        if self.last_day < self.first_day:
            raise InvalidInput("to is not before from", field="to", code="reports.invalid_range")
        if (self.last_day - self.first_day).days >= MAX_DAYS:
            raise InvalidInput(f"a report covers at most {MAX_DAYS} days", field="to", code="reports.invalid_range")


class Reports:
    def __init__(self, engine: Engine, *, time_zone: str = "Europe/Rome", abandoned_after: timedelta =
                 timedelta(hours=24), clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.zone = ZoneInfo(time_zone)
        self.abandoned_after = abandoned_after
        self.clock = clock

    def report(self, principal: Principal, query: ReportQuery) -> dict[str, Any]:
        check_reads_reports(principal)
        query.check()
        with self.engine.connect() as conn:
            where = self._where(query)
            return {
                "from": query.first_day.isoformat(), "to": query.last_day.isoformat(),
                "time_zone": self.zone.key,
                "filters": {"channel_id": query.channel_id, "queue_id": query.queue_id, "agent_id": query.agent_id},
                "summary": self._summary(conn, where),
                "sla": self._sla(conn, where),
                "csat": self._csat(conn, where, None)[0],
                "by_channel": self._by(conn, where, e.channel_id, channels.c.name, channels),
                "by_queue": self._by(conn, where, e.queue_id, routing_queues.c.name, routing_queues),
                "by_agent": self._by(conn, where, e.agent_user_id, users.c.display_name, users),
                "by_hour": self._by_hour(conn, where),
            }

    # --- the pieces ---------------------------------------------------------------------------------------

    def _where(self, query: ReportQuery) -> list[ColumnElement[bool]]:
        start = datetime.combine(query.first_day, time(), tzinfo=self.zone).astimezone(UTC)
        end = datetime.combine(query.last_day + timedelta(days=1), time(), tzinfo=self.zone).astimezone(UTC)
        where = [e.started_at >= start, e.started_at < end]
        if query.channel_id is not None:
            where.append(e.channel_id == query.channel_id)
        if query.queue_id is not None:
            where.append(e.queue_id == query.queue_id)
        if query.agent_id is not None:
            where.append(e.agent_user_id == query.agent_id)
        return where

    def _abandoned(self) -> ColumnElement[bool]:
        """No agent reply, and the contact was resolved or the customer has been silent long enough."""
        silent_since = self.clock() - self.abandoned_after
        return and_(e.first_response_at.is_(None),
                    or_(e.resolved_at.is_not(None), conversations.c.last_inbound_at < silent_since))

    def _figures(self) -> list[Any]:
        return [
            func.count().label("contacts"),
            func.count(e.first_response_at).label("answered"),
            func.count(e.resolved_at).label("resolved"),
            func.sum(case((self._abandoned(), 1), else_=0)).label("abandoned"),
            func.avg(e.first_response_s).label("avg_first_response_s"),
            func.avg(e.handle_s).label("avg_handle_s"),
            func.avg(e.resolution_s).label("avg_resolution_s"),
        ]

    @staticmethod
    def _from() -> Any:
        return service_episodes.join(conversations, conversations.c.id == e.conversation_id)

    def _summary(self, conn: Connection, where: list[ColumnElement[bool]]) -> dict[str, Any]:
        row = conn.execute(select(*self._figures()).select_from(self._from()).where(*where)).mappings().one()
        return _clean(row)

    def _by(self, conn: Connection, where: list[ColumnElement[bool]], key: Any, name: Any, table: Any
            ) -> list[dict[str, Any]]:
        stmt = (select(key.label("id"), name.label("name"), *self._figures())
                .select_from(self._from().outerjoin(table, table.c.id == key))
                .where(*where).group_by(key, name).order_by(func.count().desc(), key))
        result = [_clean(r) for r in conn.execute(stmt).mappings()]
        csat = {r["id"]: r for r in self._csat(conn, where, key)}
        for entry in result:
            entry["csat"] = csat.get(entry["id"], {"answers": 0, "avg_score": None, "satisfied_pct": None})
            entry["csat"] = {k: v for k, v in entry["csat"].items() if k != "id"}
        return result

    @staticmethod
    def _by_hour(conn: Connection, where: list[ColumnElement[bool]]) -> list[dict[str, Any]]:
        stmt = (select(e.local_hour.label("hour"), func.count().label("contacts")).where(*where)
                .group_by(e.local_hour).order_by(e.local_hour))
        counts = {int(r.hour): int(r.contacts) for r in conn.execute(stmt)}
        return [{"hour": h, "contacts": counts.get(h, 0)} for h in range(24)]

    @staticmethod
    def _sla(conn: Connection, where: list[ColumnElement[bool]]) -> dict[str, Any]:
        stmt = (select(t.kind, func.sum(case((t.state == "met", 1), else_=0)).label("met"),
                       func.sum(case((t.state == "missed", 1), else_=0)).label("missed"),
                       func.sum(case((and_(t.state == "running", t.breached_at.is_not(None)), 1), else_=0))
                       .label("breached_running"),
                       func.sum(case((and_(t.state == "running", t.breached_at.is_(None)), 1), else_=0))
                       .label("running"))
                .select_from(sla_timers.join(service_episodes, service_episodes.c.id == t.episode_id))
                .where(*where).group_by(t.kind))
        result: dict[str, Any] = {}
        for row in conn.execute(stmt):
            met, missed = int(row.met or 0), int(row.missed or 0) + int(row.breached_running or 0)
            result[row.kind] = {"met": met, "missed": missed, "running": int(row.running or 0),
                                "attainment_pct": round(100 * met / (met + missed), 1) if met + missed else None}
        return result

    @staticmethod
    def _csat(conn: Connection, where: list[ColumnElement[bool]], key: Any | None) -> list[dict[str, Any]]:
        group = [s.queue_id if key is e.queue_id else s.agent_user_id if key is e.agent_user_id
                 else s.channel_id] if key is not None else []
        stmt = (select(*(g.label("id") for g in group), func.count().label("answers"),
                       func.avg(s.score).label("avg_score"),
                       func.sum(case((s.score >= 4, 1), else_=0)).label("satisfied"))
                .select_from(csat_surveys.join(service_episodes, service_episodes.c.id == s.episode_id))
                .where(*where, s.state == "answered"))
        if group:
            stmt = stmt.group_by(*group)
        out = []
        for row in conn.execute(stmt).mappings():
            answers = int(row["answers"])
            out.append({**({"id": row["id"]} if group else {}), "answers": answers,
                        "avg_score": round(float(row["avg_score"]), 2) if row["avg_score"] is not None else None,
                        "satisfied_pct": round(100 * int(row["satisfied"] or 0) / answers, 1) if answers else None})
        return out

    # --- CSV ------------------------------------------------------------------------------------------------

    def csv(self, principal: Principal, query: ReportQuery) -> Iterator[str]:
        """One row per figure group: the summary, then per channel, queue, agent and hour."""
        data = self.report(principal, query)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        columns = ["contacts", "answered", "resolved", "abandoned", "avg_first_response_s", "avg_handle_s",
                   "avg_resolution_s"]
        writer.writerow(["group", "id", "name", *columns, "csat_answers", "csat_avg_score", "csat_satisfied_pct"])
        csat = data["csat"] or {}
        writer.writerow(["all", "", "", *(data["summary"][c] for c in columns), csat.get("answers"),
                         csat.get("avg_score"), csat.get("satisfied_pct")])
        for group in ("by_channel", "by_queue", "by_agent"):
            for entry in data[group]:
                writer.writerow([group[3:], entry["id"] if entry["id"] is not None else "",
                                 _safe(entry["name"]), *(entry[c] for c in columns), entry["csat"]["answers"],
                                 entry["csat"]["avg_score"], entry["csat"]["satisfied_pct"]])
        for entry in data["by_hour"]:
            writer.writerow(["hour", entry["hour"], f"{entry['hour']:02d}:00", entry["contacts"]])
        writer.writerow([])
        writer.writerow(["sla", "kind", "met", "missed", "running", "attainment_pct"])
        for kind, figures in data["sla"].items():
            writer.writerow(["sla", kind, figures["met"], figures["missed"], figures["running"],
                             figures["attainment_pct"]])
        yield buffer.getvalue()


def _clean(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in dict(row).items():
        if key.startswith("avg_"):
            out[key] = round(float(value), 1) if value is not None else None
        elif key in ("contacts", "answered", "resolved", "abandoned"):
            out[key] = int(value or 0)
        else:
            out[key] = value
    return out


def _safe(value: Any) -> str:
    """A name a spreadsheet would run as a formula is quoted (names come from users and channels)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text

