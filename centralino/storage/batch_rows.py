"""A batch of rows as the source of one UPDATE: on PostgreSQL a JSON recordset (`UPDATE … FROM
jsonb_to_recordset(:rows)`, one statement whatever the batch size), elsewhere one execution per row
(executemany). The sender's outcomes and the statuses coming back touch hundreds of rows a second each:
one statement per row cost PostgreSQL ~60 µs apiece (bench.campaign's statement log)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, Text, bindparam, cast, column, func
from sqlalchemy.dialects.postgresql import JSONB


def recordset(*columns: tuple[str, Any]) -> Any:
    """PostgreSQL: `jsonb_to_recordset(:rows) AS r(name type, …)`."""
    return (func.jsonb_to_recordset(cast(bindparam("rows", type_=Text()), JSONB()))
            .table_valued(*(column(n, t) for n, t in columns)).render_derived(name="r", with_types=True))


def json_rows(rows: list[dict[str, Any]]) -> str:
    return orjson.dumps(rows, option=orjson.OPT_NON_STR_KEYS).decode()


def row_values(conn: Connection, rows: list[dict[str, Any]], *columns: tuple[str, Any]) -> tuple[dict[str, Any], Any]:
    """(name → the expression standing for that value of a row, the parameters to execute with). Name the
    columns unlike the table's own (SQLAlchemy reserves those for SET clauses)."""
    if conn.dialect.name == "postgresql":
        r = recordset(*columns)
        return {name: r.c[name] for name, _ in columns}, {"rows": json_rows(rows)}
    return {name: bindparam(name, type_=kind) for name, kind in columns}, rows
