"""Contacts out as CSV (the format app/contact_csv.py reads back): id, name, phone, email, language, tags,
every identity, custom attributes (JSON) and a consent summary, filtered by search, tag and language,
streamed page by page (1,000 contacts per query) so a large export never sits in memory. Supervisors export
the contacts they may see; administrators all of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, func, or_, select

from centralino.app.consent import ConsentService
from centralino.app.contact_access import check_supervisor
from centralino.app.contact_csv import EXPORT_COLUMNS, csv_line
from centralino.domain.access import Principal
from centralino.domain.consent import Purpose
from centralino.storage.tables import contact_identities, contact_tags, contacts, conversations
from centralino.storage.visibility import visible_conversations

PAGE = 1000


def _query(principal: Principal, q: str | None, tag: str | None, language: str | None) -> Select[Any]:
    ct, ci = contacts.c, contact_identities.c
    stmt = select(contacts).where(ct.merged_into_id.is_(None))
    if not principal.is_admin:
        stmt = stmt.where(ct.id.in_(select(conversations.c.contact_id).where(visible_conversations(principal))))
    if q:
        like = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(func.lower(ct.display_name).like(like, escape="\\"),
                              ct.id.in_(select(ci.contact_id).where(func.lower(ci.value).like(like, escape="\\")))))
    if tag:
        stmt = stmt.where(ct.id.in_(select(contact_tags.c.contact_id).where(contact_tags.c.tag == tag.strip().lower())))
    if language:
        stmt = stmt.where(ct.language == language)
    return stmt


class ContactExport:
    def __init__(self, engine: Any, consent: ConsentService | None) -> None:
        self.engine = engine
        self.consent = consent

    def check(self, principal: Principal) -> None:
        check_supervisor(principal)

    def lines(self, principal: Principal, q: str | None = None, tag: str | None = None,
              language: str | None = None) -> Iterator[str]:
        """The CSV, a line at a time (the header first); `check` first, before the response starts."""
        check_supervisor(principal)
        yield csv_line(list(EXPORT_COLUMNS))
        after = 0
        while True:
            with self.engine.connect() as conn:
                page = [dict(r) for r in conn.execute(_query(principal, q, tag, language)
                                                      .where(contacts.c.id > after).order_by(contacts.c.id)
                                                      .limit(PAGE)).mappings()]
                if not page:
                    return
                ids = [int(r["id"]) for r in page]
                identities: dict[int, list[tuple[str, str]]] = {i: [] for i in ids}
                for r in conn.execute(select(contact_identities.c.contact_id, contact_identities.c.kind,
                                             contact_identities.c.value)
                                      .where(contact_identities.c.contact_id.in_(ids)).order_by(contact_identities.c.id)):
                    identities[int(r.contact_id)].append((str(r.kind), str(r.value)))
                tags: dict[int, list[str]] = {i: [] for i in ids}
                for r in conn.execute(select(contact_tags.c.contact_id, contact_tags.c.tag)
                                      .where(contact_tags.c.contact_id.in_(ids)).order_by(contact_tags.c.tag)):
                    tags[int(r.contact_id)].append(str(r.tag))
                consent = {p: self.consent.states_for(conn, ids, None, p) if self.consent else {}
                           for p in (Purpose.MARKETING, Purpose.UTILITY)}
            for row in page:
                cid = int(row["id"])
                own = identities[cid]
                phone = next((v for k, v in own if k == "phone"), None) or next(
                    ("+" + v for k, v in own if k == "whatsapp"), None)
                yield csv_line([
                    cid, row["display_name"], phone, next((v for k, v in own if k == "email"), None), row["language"],
                    "; ".join(tags[cid]), "; ".join(f"{k}:{v}" for k, v in own), row["attributes"] or {},
                    _consent(consent[Purpose.MARKETING].get(cid)), _consent(consent[Purpose.UTILITY].get(cid)),
                    row["created_at"]])
            after = ids[-1]


def _consent(decision: Any) -> str:
    """opt_in / opt_out from the record the decision rests on; empty when nothing was recorded."""
    if decision is None or decision.record is None:
        return ""
    return str(decision.record.action.value)
