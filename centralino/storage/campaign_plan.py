"""Planning a segment in one statement (PostgreSQL): INSERT … SELECT of the segment's contacts with their
address and their frozen values built by jsonb_build_object, so 100,000 recipients never pass through
Python. Contacts whose values cannot be filled are counted and sampled for the plan report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, Integer, String, and_, case, func, insert, literal, or_, select, true
from sqlalchemy.dialects.postgresql import distinct_on

from centralino.domain.campaigns import ParameterSource, RecipientState
from centralino.domain.enums import IdentityKind
from centralino.storage.tables import contact_identities, contact_tags, contacts
from centralino.storage.tables_campaigns import campaign_recipients
from centralino.storage.types import UTCDateTime

ADDRESS_KINDS = (IdentityKind.WHATSAPP.value, IdentityKind.WHATSAPP_BSUID.value)


def _value(source: ParameterSource) -> Any:
    ct, ci = contacts.c, contact_identities.c
    value: Any
    if source.text is not None:
        value = literal(source.text, String)
    elif source.field == "display_name":
        value = ct.display_name
    elif source.field == "language":
        value = ct.language
    elif source.field == "phone":
        value = case((ci.kind == IdentityKind.WHATSAPP.value, literal("+", String) + ci.value), else_=None)
    else:
        value = ct.attributes[source.attribute].as_string()
    value = func.nullif(func.btrim(value), "")
    return value if source.default is None else func.coalesce(value, literal(source.default, String))


def plan_segment(conn: Connection, campaign_id: int, channel_id: int, tags: Sequence[str],
                 attributes: Mapping[str, str], sources: Mapping[str, ParameterSource], needed: Sequence[str],
                 now: datetime, sample: int) -> tuple[int, int, list[dict[str, Any]]]:
    """(planned, left out, a sample of those left out {contact_id, phone, reason})."""
    ct, ci = contacts.c, contact_identities.c
    names = list(needed)
    stmt = (select(ct.id.label("cid"), ci.kind.label("kind"), ci.value.label("address"),
                   *(_value(sources[n]).label(f"p{i}") for i, n in enumerate(names)))
            .join(contact_identities, ci.contact_id == ct.id)
            .where(ct.merged_into_id.is_(None), ci.kind.in_(ADDRESS_KINDS)))
    for tag in tags:
        stmt = stmt.where(select(contact_tags.c.contact_id).where(
            contact_tags.c.contact_id == ct.id, contact_tags.c.tag == tag).exists())
    for name, wanted in attributes.items():
        stmt = stmt.where(ct.attributes[name].as_string() == wanted)
    preference = case((ci.kind == ADDRESS_KINDS[0], 0), else_=1)
    found = stmt.ext(distinct_on(ct.id)).order_by(ct.id, preference).subquery()
    columns = [found.c[f"p{i}"] for i in range(len(names))]
    complete = and_(true(), *(c.is_not(None) for c in columns))
    params = func.jsonb_build_object(*(x for i, n in enumerate(names) for x in (literal(n, String), columns[i])))
    conn.execute(insert(campaign_recipients).from_select(
        ["campaign_id", "contact_id", "channel_id", "recipient_kind", "recipient", "params", "state", "attempts",
         "planned_at"],
        select(literal(campaign_id, BigInteger), found.c.cid, literal(channel_id, BigInteger), found.c.kind,
               found.c.address, params, literal(RecipientState.PLANNED.value, String), literal(0, Integer),
               literal(now, UTCDateTime())).where(complete).order_by(found.c.cid)))
    # the driver reports no row count for INSERT ... SELECT here: count them on the feeder's index
    planned = conn.execute(select(func.count()).select_from(campaign_recipients).where(
        campaign_recipients.c.campaign_id == campaign_id)).scalar_one()
    if not columns:
        return int(planned), 0, []
    incomplete = or_(*(c.is_(None) for c in columns))
    left_out = int(conn.execute(select(func.count()).select_from(found).where(incomplete)).scalar_one())
    rows = conn.execute(select(found).where(incomplete).order_by(found.c.cid).limit(sample)).all()
    report = []
    for row in rows:
        gap = next(n for i, n in enumerate(names) if getattr(row, f"p{i}") is None)
        report.append({"row": None, "contact_id": int(row.cid),
                       "phone": f"+{row.address}" if row.kind == ADDRESS_KINDS[0] else None,
                       "reason": f"no value for {{{{{gap}}}}}"})
    return int(planned), left_out, report
