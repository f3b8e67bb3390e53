"""Duplicate candidates: live contacts that share a phone number (whatever its format, also a WhatsApp
wa_id against a phone identity) or an email (case-insensitively). Found by reading the phone and email
identities once and grouping them in memory by their normalised key (domain/contact_keys.py), since the
formats cannot be compared in SQL; a few hundred thousand identities take a few seconds."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import Connection, select

from centralino.app.contact_access import check_supervisor
from centralino.domain.access import Principal
from centralino.domain.contact_keys import EMAIL_KIND, PHONE_KINDS, match_key
from centralino.errors import InvalidInput
from centralino.storage.tables import contact_identities, contacts, conversations
from centralino.storage.visibility import visible_conversations


def candidates(conn: Connection, principal: Principal, *, limit: int = 50,
               cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """Groups ordered by key: [{reason, key, contacts: [{id, display_name, identities, created_at}]}], the
    next cursor (the last key) or None."""
    check_supervisor(principal)
    after = _decode(cursor)
    ci, ct = contact_identities.c, contacts.c
    stmt = (select(ci.contact_id, ci.kind, ci.value).join(contacts, ct.id == ci.contact_id)
            .where(ct.merged_into_id.is_(None), ci.kind.in_([*PHONE_KINDS, EMAIL_KIND])))
    if not principal.is_admin:
        stmt = stmt.where(ct.id.in_(select(conversations.c.contact_id).where(visible_conversations(principal))))
    groups: dict[tuple[str, str], set[int]] = {}
    for row in conn.execute(stmt.execution_options(yield_per=5000)):
        key = match_key(str(row.kind), str(row.value))
        if key is not None:
            groups.setdefault(key, set()).add(int(row.contact_id))
    shared = sorted(((k, ids) for k, ids in groups.items() if len(ids) > 1 and (after is None or k[1] > after)),
                    key=lambda g: g[0][1])
    page, more = shared[:limit], len(shared) > limit
    described = _describe(conn, sorted({i for _, ids in page for i in ids}))
    items = [{"reason": reason, "key": key, "contacts": [described[i] for i in sorted(ids)]}
             for (reason, key), ids in page]
    return items, (_encode(page[-1][0][1]) if more and page else None)


def _encode(key: str) -> str:
    """Opaque and URL-safe (a phone key starts with '+', which a query string reads as a space)."""
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("not a cursor this list gave", field="cursor", code="cursor.invalid") from None


def _describe(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    ct, ci = contacts.c, contact_identities.c
    out = {int(r.id): {"id": int(r.id), "display_name": r.display_name, "created_at": r.created_at, "identities": []}
           for r in conn.execute(select(ct.id, ct.display_name, ct.created_at).where(ct.id.in_(ids)))}
    for r in conn.execute(select(ci.contact_id, ci.kind, ci.value).where(ci.contact_id.in_(ids)).order_by(ci.id)):
        out[int(r.contact_id)]["identities"].append({"kind": r.kind, "value": r.value})
    return out
