"""Who a campaign goes to: a segment of the contacts (tags, attribute equality, consent state) or an
uploaded CSV (a phone column and per-recipient parameter columns; contacts created as needed, rejected
rows reported). Set-based: one query for a segment, bulk lookups and inserts for a CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Text, cast, insert, select

from centralino.domain.enums import IdentityKind
from centralino.errors import InvalidInput
from centralino.storage import bulk
from centralino.storage.contacts import e164_from_wa_id
from centralino.storage.tables import contact_identities, contact_tags, contacts

ADDRESS_KINDS = (IdentityKind.WHATSAPP.value, IdentityKind.WHATSAPP_BSUID.value)  # in order of preference
CONSENT_FILTERS = ("any", "allowed", "opted_in")
MAX_CSV_ROWS = 200_000
MAX_REPORTED = 1000  # rejected rows kept in the plan report (the count is always exact)
PHONE_COLUMNS = ("phone", "telefono", "wa_id", "number")
_NOT_DIGITS = re.compile(r"[\s\-().]")


@dataclass(frozen=True)
class Segment:
    tags: tuple[str, ...] = ()  # every tag (lower-cased)
    attributes: Mapping[str, str] = field(default_factory=dict)  # attribute == value, each
    consent: str = "any"  # any | allowed (the ledger allows the template's purpose now) | opted_in

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Segment:
        tags = raw.get("tags") or []
        attributes = raw.get("attributes") or {}
        consent = raw.get("consent") or "any"
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise InvalidInput("tags is a list of tag names", field="audience.tags", code="campaign.bad_audience",
                               status=422)
        if not isinstance(attributes, Mapping):
            raise InvalidInput("attributes is an object of name: value", field="audience.attributes",
                               code="campaign.bad_audience", status=422)
        if consent not in CONSENT_FILTERS:
            raise InvalidInput(f"consent is one of {', '.join(CONSENT_FILTERS)}", field="audience.consent",
                               code="campaign.bad_audience", status=422)
        return cls(tuple(sorted({t.strip().lower() for t in tags})),
                   {str(k): str(v) for k, v in attributes.items()}, consent)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": "segment", "tags": list(self.tags), "attributes": dict(self.attributes),
                "consent": self.consent}


@dataclass(frozen=True)
class Candidate:
    contact_id: int
    recipient_kind: str
    recipient: str
    fields: dict[str, Any]  # display_name, profile_name, language, phone, attributes (what parameters draw on)
    columns: dict[str, str] = field(default_factory=dict)  # a CSV row's parameter columns


@dataclass(frozen=True)
class Rejected:
    row: int | None  # the CSV line (1 = the header); None for a segment's contact
    contact_id: int | None
    phone: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "contact_id": self.contact_id, "phone": self.phone, "reason": self.reason}


def segment_candidates(conn: Connection, segment: Segment) -> list[Candidate]:
    """Live contacts of the segment with an address to send to (one query; attributes compared as text)."""
    ct, ci = contacts.c, contact_identities.c
    # attributes as JSON text, parsed here by orjson: the driver's own JSON parsing of 100,000 rows costs
    # more than planning them
    stmt = (select(ct.id, ct.display_name, ct.profile_name, ct.language, cast(ct.attributes, Text).label("attributes"),
                   ci.kind, ci.value)
            .join(contact_identities, ci.contact_id == ct.id)
            .where(ct.merged_into_id.is_(None), ci.kind.in_(ADDRESS_KINDS)))
    for tag in segment.tags:
        stmt = stmt.where(select(contact_tags.c.contact_id).where(
            contact_tags.c.contact_id == ct.id, contact_tags.c.tag == tag).exists())
    for name, value in segment.attributes.items():
        stmt = stmt.where(ct.attributes[name].as_string() == value)
    best: dict[int, Candidate] = {}
    for row in conn.execute(stmt.order_by(ct.id)).all():
        found = best.get(row.id)
        if found is not None and ADDRESS_KINDS.index(found.recipient_kind) <= ADDRESS_KINDS.index(row.kind):
            continue
        phone = f"+{row.value}" if row.kind == IdentityKind.WHATSAPP.value else None
        best[int(row.id)] = Candidate(int(row.id), row.kind, row.value, {
            "display_name": row.display_name, "profile_name": row.profile_name, "language": row.language,
            "phone": phone,
            "attributes": (orjson.loads(row.attributes) if row.attributes else None) or {}})
    return list(best.values())


# --- CSV ------------------------------------------------------------------------------------------------------

def parse_csv(data: bytes) -> tuple[list[tuple[int, str, dict[str, str]]], list[Rejected]]:
    """(line, wa_id, parameter columns) of the good rows, and the rejected ones with their reason."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the CSV file must be UTF-8", field="file", code="campaign.csv_encoding",
                           status=422) from exc
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip() for h in next(reader, [])]
    lowered = [h.lower() for h in header]
    phone_at = next((lowered.index(p) for p in PHONE_COLUMNS if p in lowered), None)
    if phone_at is None:
        raise InvalidInput(f"the CSV needs a phone column (one of: {', '.join(PHONE_COLUMNS)})", field="file",
                           code="campaign.csv_no_phone", status=422)
    good: list[tuple[int, str, dict[str, str]]] = []
    rejected: list[Rejected] = []
    seen: set[str] = set()
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(good) + len(rejected) >= MAX_CSV_ROWS:
            raise InvalidInput(f"at most {MAX_CSV_ROWS} rows per file", field="file", code="campaign.csv_too_big",
                               status=422)
        raw_phone = cells[phone_at].strip() if phone_at < len(cells) else ""
        wa_id = _NOT_DIGITS.sub("", raw_phone).removeprefix("+").removeprefix("00")
        if not wa_id or e164_from_wa_id(wa_id) is None:
            rejected.append(Rejected(line, None, raw_phone, "not a valid phone number in international format"))
            continue
        if wa_id in seen:
            rejected.append(Rejected(line, None, raw_phone, "the same phone number is on an earlier row"))
            continue
        seen.add(wa_id)
        columns = {header[i]: cells[i].strip() for i in range(min(len(header), len(cells)))
                   if i != phone_at and header[i]}
        good.append((line, wa_id, columns))
    return good, rejected


def csv_candidates(conn: Connection, rows: Sequence[tuple[int, str, dict[str, str]]],
                   now: datetime) -> tuple[list[Candidate], list[int]]:
    """The CSV's recipients, creating a contact (wa_id and phone identities) for each unknown number; with
    the lines of the candidates, in the same order."""
    ci = contact_identities.c
    keys = {(IdentityKind.WHATSAPP.value, wa_id) for _, wa_id, _ in rows}
    owners = bulk.identity_owners(conn, keys)
    missing = [(line, wa_id, cols) for line, wa_id, cols in rows if (IdentityKind.WHATSAPP.value, wa_id) not in owners]
    if missing:
        created = conn.execute(insert(contacts).returning(contacts.c.id, sort_by_parameter_order=True), [
            {"display_name": cols.get("name") or None, "created_at": now, "updated_at": now, "attributes": {}}
            for _, _, cols in missing]).scalars().all()
        identities = []
        for contact_id, (_, wa_id, _) in zip(created, missing, strict=True):
            identities.append({"contact_id": contact_id, "kind": IdentityKind.WHATSAPP.value, "value": wa_id,
                               "created_at": now})
            phone = e164_from_wa_id(wa_id)
            if phone:
                identities.append({"contact_id": contact_id, "kind": IdentityKind.PHONE.value, "value": phone,
                                   "created_at": now})
        bulk.insert_ignore_many(conn, contact_identities, identities, ("kind", "value"), ("id",))
        # a number that someone else stored meanwhile keeps its owner (our new contact stays unused)
        owners = bulk.identity_owners(conn, keys)
    ids = sorted(set(owners.values()))
    fields: dict[int, dict[str, Any]] = {}
    ct = contacts.c
    for part in bulk.chunks(ids):
        for row in conn.execute(select(ct.id, ct.display_name, ct.profile_name, ct.language, ct.attributes,
                                       ct.merged_into_id)
                                .where(ct.id.in_(list(part)))):
            fields[int(row.id)] = {"display_name": row.display_name, "profile_name": row.profile_name,
                                   "language": row.language,
                                   "attributes": row.attributes or {}, "merged_into_id": row.merged_into_id}
    del ci
    out: list[Candidate] = []
    lines: list[int] = []
    seen: set[int] = set()
    for line, wa_id, cols in rows:
        contact_id = owners[(IdentityKind.WHATSAPP.value, wa_id)]
        contact = fields[contact_id]
        if contact["merged_into_id"] is not None:
            contact_id = int(contact["merged_into_id"])
        if contact_id in seen:
            continue
        seen.add(contact_id)
        out.append(Candidate(contact_id, IdentityKind.WHATSAPP.value, wa_id,
                             {**contact, "phone": f"+{wa_id}"}, cols))
        lines.append(line)
    return out, lines
