"""Every column that references a table's id, discovered from the SQLAlchemy metadata, so a table another
area adds later (cases, tasks, timeline entries…) is followed by merges, GDPR exports and erasures without
anyone listing it here. Imported tables.py pulls in every area's table module, so the metadata is complete."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, PrimaryKeyConstraint, Table, UniqueConstraint, and_, select, update

from centralino.storage.tables import metadata


@dataclass(frozen=True)
class Ref:
    table: Table
    column: Column[Any]
    # For each unique constraint (or primary key, or unique index) the column is part of: its other columns.
    # Re-pointing a row may collide there (two conversations of one contact on one channel).
    unique_sets: tuple[tuple[str, ...], ...]

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column.name}"

    @property
    def stays(self) -> bool:
        """A history column (who was merged into whom, a GDPR request's subject): never re-pointed."""
        return self.column.info.get("contact_merge") == "stay"


def _unique_sets(table: Table, column: Column[Any]) -> tuple[tuple[str, ...], ...]:
    sets: list[tuple[str, ...]] = []
    groups = [list(c.columns) for c in table.constraints if isinstance(c, UniqueConstraint | PrimaryKeyConstraint)]
    groups += [list(ix.columns) for ix in table.indexes if ix.unique]
    for cols in groups:
        names = [c.name for c in cols]
        if column.name in names:
            sets.append(tuple(n for n in names if n != column.name))
    return tuple(sets)


REFERENCES = "references"  # Column info: a reference kept without a database constraint, e.g. "contacts.id"


def referencing_columns(table: Table) -> list[tuple[Column[Any], Table]]:
    """(column, the table it refers to) for every foreign key of `table`, and every column that names its
    table in info["references"] (a reference whose per-row check was too dear on a hot path, migration 0019),
    sorted by column name."""
    found = [(fk.parent, fk.column.table) for fk in table.foreign_keys]
    for col in table.columns:
        target = col.info.get(REFERENCES)
        if target is not None:
            found.append((col, metadata.tables[str(target).partition(".")[0]]))
    return sorted(found, key=lambda pair: pair[0].name)


def references_to(target: Table) -> list[Ref]:
    """Every (table, column) that refers to `target`'s primary key, in a stable order."""
    found: list[Ref] = []
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        for column, referred in referencing_columns(table):
            if referred is target:
                found.append(Ref(table, column, _unique_sets(table, column)))
    return found


def primary_key(table: Table) -> list[Column[Any]]:
    return list(table.primary_key.columns)


def repoint(conn: Connection, ref: Ref, keep: int, drop: int) -> tuple[int, list[dict[str, Any]]]:
    """Point `ref`'s rows from `drop` to `keep`. Rows that would break a unique constraint are not moved:
    they are returned (their primary key values) for the caller to settle. How many moved."""
    col = ref.column
    if not ref.unique_sets:
        return int(conn.execute(update(ref.table).where(col == drop).values({col.name: keep})).rowcount or 0), []
    pk = primary_key(ref.table)
    needed = {c.name for c in pk} | {n for s in ref.unique_sets for n in s}
    rows = conn.execute(select(*(ref.table.c[n] for n in sorted(needed))).where(col == drop)).mappings().all()
    moved, collided = 0, []
    for row in rows:
        if any(_twin_exists(conn, ref, keep, others, row) for others in ref.unique_sets):
            collided.append({c.name: row[c.name] for c in pk})
            continue
        conn.execute(update(ref.table).where(*(c == row[c.name] for c in pk)).values({col.name: keep}))
        moved += 1
    return moved, collided


def _twin_exists(conn: Connection, ref: Ref, keep: int, others: tuple[str, ...], row: Any) -> bool:
    if any(row[n] is None for n in others):
        return False  # NULLs never collide
    cond = and_(ref.column == keep, *(ref.table.c[n] == row[n] for n in others))
    return conn.execute(select(ref.column).where(cond).limit(1)).first() is not None


def where_pk(table: Table, key: dict[str, Any]) -> Any:
    return and_(*(table.c[name] == value for name, value in key.items()))
