"""Contacts as CSV: the file format both ways (docs/contacts.md). Reading checks every row and names the row
(its line in the file, the header being line 1) and the column of each problem; writing guards cells a
spreadsheet would run as formulas. Pure apart from nothing: no database here."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from centralino.domain import contact_profile as rules
from centralino.domain.contact_keys import email_key, phone_e164
from centralino.domain.spreadsheet import spreadsheet_cell
from centralino.errors import InvalidInput

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
COLUMNS = ("id", "display_name", "phone", "email", "language", "tags", "attributes")
ALIASES = {"name": "display_name"}
EXPORT_ONLY = ("identities", "consent_marketing", "consent_utility", "created_at")  # ignored when importing
EXPORT_COLUMNS = (*COLUMNS[:6], *EXPORT_ONLY[:1], "attributes", *EXPORT_ONLY[1:])
ATTR_PREFIX = "attr."
TAG_SPLIT = re.compile(r"[;|]")


@dataclass
class ParsedRow:
    line: int
    contact_id: int | None = None
    display_name: str | None = None
    phones: list[str] = field(default_factory=list)  # E.164
    emails: list[str] = field(default_factory=list)  # lower-cased
    language: str | None = None
    tags: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)

    def identities(self) -> list[tuple[str, str]]:
        """What the row is known by: a phone is also the WhatsApp address of that number (wa_id = its digits),
        as inbound messages and the consent import record it."""
        out = []
        for phone in self.phones:
            out += [("whatsapp", phone[1:]), ("phone", phone)]
        return out + [("email", e) for e in self.emails]


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


def read(data: bytes) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The header (normalised) and the rows with their line numbers. Whole-file problems raise, naming `file`."""
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB", field="file",
                           code="import.too_large", status=413)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the file is not UTF-8 text", field="file", code="import.encoding", status=422) from exc
    first = text.split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text), delimiter=";" if first.count(";") > first.count(",") else ",")
    header = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in reader.fieldnames or []]
    if not header:
        raise InvalidInput("the file is empty", field="file", code="import.empty", status=422)
    unknown = [h for h in header if h not in COLUMNS and h not in EXPORT_ONLY and not h.startswith(ATTR_PREFIX)]
    if unknown:
        raise InvalidInput(f"unknown column {unknown[0]!r}: the columns are {', '.join(COLUMNS)} and attr.<key>",
                           field="file", code="import.column", status=422)
    if not {"id", "phone", "email"} & set(header):
        raise InvalidInput("the file needs an id, phone or email column", field="file", code="import.column",
                           status=422)
    reader.fieldnames = header

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for n, raw in enumerate(reader, start=2):
            if n - 1 > MAX_ROWS:
                raise InvalidInput(f"at most {MAX_ROWS} rows per file", field="file", code="import.too_many",
                                   status=422)
            yield n, {k: _unguard(v) for k, v in raw.items() if k is not None}

    return header, rows()


def _unguard(value: Any) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    return text[1:] if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@") else text


def parse_row(line: int, raw: dict[str, str]) -> ParsedRow | list[RowError]:
    row, errors = ParsedRow(line), []

    def fail(column: str, message: str) -> None:
        errors.append(RowError(line, column, message))

    if raw.get("id"):
        if raw["id"].isdigit():
            row.contact_id = int(raw["id"])
        else:
            fail("id", f"{raw['id']!r} is not a contact id")
    for phone in _many(raw.get("phone")):
        e164 = phone_e164(phone)
        if e164 is None:
            fail("phone", f"{phone!r} is not a phone number in international form (+39 347 123 4567)")
        else:
            row.phones.append(e164)
    for email in _many(raw.get("email")):
        key = email_key(email)
        if key is None or len(key) > 300:
            fail("email", f"{email!r} is not an email address")
        else:
            row.emails.append(key)
    if row.contact_id is None and not row.phones and not row.emails and not errors:
        fail("phone", "a row needs an id, a phone or an email")
    for column, check in (("display_name", rules.check_name), ("language", rules.check_language)):
        if raw.get(column):
            try:
                setattr(row, column, check(raw[column]))
            except InvalidInput as exc:
                fail(column, exc.message)
    if raw.get("tags"):
        try:
            row.tags = rules.check_tags([t for t in TAG_SPLIT.split(raw["tags"]) if t.strip()])
        except InvalidInput as exc:
            fail("tags", exc.message)
    _attributes(raw, row, fail)
    return errors or row


def _attributes(raw: dict[str, str], row: ParsedRow, fail: Any) -> None:
    given: dict[str, Any] = {}
    if raw.get("attributes"):
        try:
            loaded = orjson.loads(raw["attributes"])
        except orjson.JSONDecodeError:
            loaded = None
        if not isinstance(loaded, dict):
            fail("attributes", 'attributes is a JSON object ({"city": "Milano"})')
        else:
            given.update(loaded)
    given.update({k[len(ATTR_PREFIX):]: v for k, v in raw.items() if k.startswith(ATTR_PREFIX) and v})
    if given:
        try:
            row.attributes = rules.merge_attributes({}, given)
        except InvalidInput as exc:
            column = exc.field or "attributes"
            fail(ATTR_PREFIX + column.split(".", 1)[1] if "." in column and
                 ATTR_PREFIX + column.split(".", 1)[1] in raw else "attributes", exc.message)


def _many(value: str | None) -> list[str]:
    return [v.strip() for v in TAG_SPLIT.split(value or "") if v.strip()]


cell = spreadsheet_cell  # the exports' one rule (domain/spreadsheet.py)


def csv_line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([cell(v) for v in values])
    return out.getvalue()
