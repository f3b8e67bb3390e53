"""Consent in and out of Centralino as files: importing a CSV of opt-ins and opt-outs (with a report of the
rows refused and why), and the GDPR export of one contact's consent history (JSON or CSV).

Each row is imported whole or not at all (its contact, if new, and its record commit together, in a
savepoint); a row already imported is recognised by its content and not recorded twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import phonenumbers
from sqlalchemy import Engine, select

from centralino.app.consent import CLOCK_SKEW, SYSTEM_SOURCES, ConsentService, live_contact
from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.domain.access import Principal, Role
from centralino.domain.consent import Action, Purpose, Source, current_state, decide, describe_source
from centralino.domain.spreadsheet import spreadsheet_cell
from centralino.errors import Forbidden, InvalidInput
from centralino.storage import consent as consent_repo
from centralino.storage import contacts as contact_repo
from centralino.storage.tables import channels

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
ROWS_PER_TRANSACTION = 500
COLUMNS = ("phone", "contact_id", "purpose", "action", "source", "evidence", "timestamp", "channel_id", "note")
EXPORT_COLUMNS = ("id", "occurred_at", "recorded_at", "purpose", "action", "source", "channel_id", "actor",
                  "evidence", "note")


@dataclass(frozen=True)
class Rejected:
    row: int  # the line's number in the file, the header being line 1
    field: str
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    repeated: int = 0  # already recorded by an earlier import of the same line
    contacts_created: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "imported": self.imported, "repeated": self.repeated,
                "contacts_created": self.contacts_created,
                "rejected": [{"row": r.row, "field": r.field, "reason": r.reason} for r in self.rejected]}


class RowError(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class ParsedRow:
    phone: str | None
    contact_id: int | None
    purpose: Purpose
    action: Action
    source: Source
    evidence: dict[str, Any]
    occurred_at: datetime
    channel_id: int | None
    note: str | None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ConsentFiles:
    def __init__(self, engine: Engine, consent: ConsentService, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.consent = consent
        self.clock = clock

    def do_import(self, principal: Principal, data: bytes) -> ImportReport:
        """Import a CSV (UTF-8, comma- or semicolon-separated, a header naming the columns)."""
        if principal.role not in (Role.SUPERVISOR, Role.ADMIN):
            raise Forbidden("only supervisors and administrators import consents", code="consent.import_forbidden")
        reader = _reader(data)
        report = ImportReport()
        now = self.clock()
        batch: list[tuple[int, dict[str, str]]] = []
        for line, raw in enumerate(reader, start=2):
            report.rows += 1
            if report.rows > MAX_ROWS:
                raise InvalidInput(f"at most {MAX_ROWS} rows per file", field="file", code="consent.import_too_many",
                                   status=422)
            batch.append((line, raw))
            if len(batch) >= ROWS_PER_TRANSACTION:
                self._import_batch(principal, batch, report, now)
                batch = []
        if batch:
            self._import_batch(principal, batch, report, now)
        return report

    def _import_batch(self, principal: Principal, batch: list[tuple[int, dict[str, str]]], report: ImportReport,
                      now: datetime) -> None:
        with unit_of_work(self.engine, self.consent.bus) as uow:
            known_channels = {int(c) for c in uow.conn.execute(select(channels.c.id)).scalars()}
            for line, raw in batch:
                try:
                    parsed = parse_row(raw, now, known_channels)
                except RowError as exc:
                    report.rejected.append(Rejected(line, exc.field, exc.reason))
                    continue
                savepoint = uow.conn.begin_nested()
                mark = len(uow.pending)
                try:
                    created = self._import_row(uow, principal, parsed, raw, report)
                except RowError as exc:
                    savepoint.rollback()
                    del uow.pending[mark:]  # the row's events go with its writes
                    report.rejected.append(Rejected(line, exc.field, exc.reason))
                    continue
                savepoint.commit()
                report.contacts_created += created

    def _import_row(self, uow: UnitOfWork, principal: Principal, row: ParsedRow, raw: dict[str, str],
                    report: ImportReport) -> int:
        created = 0
        if row.contact_id is not None:
            contact_id = live_contact(uow.conn, row.contact_id)
            if contact_id is None:
                raise RowError("contact_id", f"no contact {row.contact_id}")
        else:
            assert row.phone is not None
            resolved = contact_repo.resolve(uow.conn, contact_repo.identities_for(row.phone.lstrip("+"), None),
                                            self.clock())
            contact_id = resolved.contact_id
            if resolved.created:
                created = 1
                uow.emit("contact.created", contact_id=contact_id)
        key = hashlib.sha256(orjson.dumps([str(contact_id), {k: (raw.get(k) or "").strip() for k in COLUMNS
                                                             if k not in ("phone", "contact_id")}],
                                          option=orjson.OPT_SORT_KEYS)).hexdigest()
        recorded = self.consent.record_in(
            uow, contact_id=contact_id, purpose=row.purpose, action=row.action, source=row.source,
            occurred_at=row.occurred_at, actor=f"import:{principal.actor}"[:64], evidence=row.evidence,
            channel_id=row.channel_id, note=row.note, dedupe_key=f"import:{key}")
        if recorded.created:
            report.imported += 1
        else:
            report.repeated += 1
        return created

    # --- export ---------------------------------------------------------------------------------------------

    def export(self, conn: Any, contact_id: int, channel_id: int | None = None) -> dict[str, Any]:
        """Everything the ledger holds about the contact: the state per purpose (on `channel_id`, or over
        every channel) and every record."""
        records = consent_repo.history(conn, contact_id)
        state = current_state(consent_repo.records_for(conn, contact_id), channel_id)
        return {
            "contact_id": contact_id, "exported_at": self.clock().isoformat(),
            "state": {p.value: state_entry(state, p, self.consent) for p in Purpose if p is not Purpose.ALL},
            "records": [_jsonable(r) for r in records],
        }


def state_entry(state: Any, purpose: Purpose, consent: ConsentService) -> dict[str, Any]:
    decision = decide(state, purpose, business_initiated=True, policy=consent.policy)
    record = decision.record
    return {"allowed": decision.allowed, "reason": decision.reason,
            "action": record.action.value if record else None, "source": record.source.value if record else None,
            "described_source": describe_source(record) if record else None,
            "occurred_at": record.occurred_at.isoformat() if record else None,
            "record_id": record.sequence if record else None}


def export_csv(records: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for r in records:
        writer.writerow([spreadsheet_cell(r[c]) for c in EXPORT_COLUMNS])
    return out.getvalue()



def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    # str(k): the keys may be str subclasses (SQLAlchemy's quoted names), which JSON encoders refuse
    return {str(k): (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items() if k != "dedupe_key"}


# --- parsing ---------------------------------------------------------------------------------------------------

def _reader(data: bytes) -> csv.DictReader[str]:
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB", field="file",
                           code="consent.import_too_large", status=413)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the file is not UTF-8 text", field="file", code="consent.import_encoding",
                           status=422) from exc
    first = text.split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text), delimiter=";" if first.count(";") > first.count(",") else ",")
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if not header:
        raise InvalidInput("the file is empty", field="file", code="consent.import_empty", status=422)
    reader.fieldnames = header
    unknown = sorted(set(header) - set(COLUMNS))
    needed = {"purpose", "action", "timestamp"} - set(header)
    if unknown or needed or not ({"phone", "contact_id"} & set(header)):
        raise InvalidInput(f"the header must name phone or contact_id, purpose, action and timestamp (optional: "
                           f"source, evidence, channel_id, note); unknown: {', '.join(unknown) or 'none'}, "
                           f"missing: {', '.join(sorted(needed)) or 'none'}", field="file",
                           code="consent.import_header", status=422)
    return reader


def parse_row(raw: dict[str, Any], now: datetime, known_channels: set[int]) -> ParsedRow:
    """One line as a record, or RowError naming the first wrong field."""
    if None in raw:  # more cells than the header names
        raise RowError("row", "more values than the header has columns")
    value = {k: (v or "").strip() for k, v in raw.items()}
    phone, contact_id = _phone(value.get("phone", "")), _int(value.get("contact_id", ""), "contact_id")
    if phone is None and contact_id is None:
        raise RowError("phone", "give a phone number (international, e.g. +393471234567) or a contact_id")
    purpose = _enum(Purpose, value.get("purpose", ""), "purpose")
    action = _enum(Action, value.get("action", ""), "action")
    source_text = value.get("source", "") or "import"
    source = Source(source_text)
    if source is Source.UNKNOWN or source in SYSTEM_SOURCES:
        allowed = ", ".join(sorted(s.value for s in Source if s not in SYSTEM_SOURCES))
        raise RowError("source", f"{source_text!r} is not a source an import may name ({allowed})")
    try:
        occurred_at = datetime.fromisoformat(value.get("timestamp", "").replace("Z", "+00:00"))
    except ValueError as exc:
        raise RowError("timestamp", "not an ISO 8601 date-time (2026-11-20T10:00:00+01:00)") from exc
    if occurred_at.tzinfo is None:
        raise RowError("timestamp", "needs a time zone (Z or +01:00)")
    if occurred_at > now + CLOCK_SKEW:
        raise RowError("timestamp", "is in the future")
    channel_id = _int(value.get("channel_id", ""), "channel_id")
    if channel_id is not None and channel_id not in known_channels:
        raise RowError("channel_id", f"no channel {channel_id}")
    return ParsedRow(phone, contact_id, purpose, action, source, _evidence(value.get("evidence", "")),
                     occurred_at.astimezone(UTC), channel_id, value.get("note") or None)


def _phone(text: str) -> str | None:
    if not text:
        return None
    try:
        number = phonenumbers.parse(text if text.startswith("+") else "+" + text.lstrip("0"), None)
    except phonenumbers.NumberParseException as exc:
        raise RowError("phone", f"{text!r} is not a phone number in international form") from exc
    if not phonenumbers.is_valid_number(number):
        raise RowError("phone", f"{text!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _int(text: str, name: str) -> int | None:
    if not text:
        return None
    if not text.isdigit():
        raise RowError(name, f"{text!r} is not a number")
    return int(text)


def _enum(kind: Any, text: str, name: str) -> Any:
    try:
        return kind(text.lower())
    except ValueError as exc:
        raise RowError(name, f"{text!r} is not one of {', '.join(m.value for m in kind)}") from exc


def _evidence(text: str) -> dict[str, Any]:
    if not text:
        return {}
    if text.startswith("{"):
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise RowError("evidence", "starts like JSON but is not a JSON object") from exc
        if isinstance(parsed, dict) and len(text) <= 8192:
            return parsed
        raise RowError("evidence", "a JSON object of at most 8 KB")
    if len(text) > 8192:
        raise RowError("evidence", "at most 8 KB")
    return {"text": text}
