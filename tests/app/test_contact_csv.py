"""The contact CSV format: every problem of a row named by line and column; formula guards both ways."""

from __future__ import annotations

import pytest

from centralino.app.contact_csv import ParsedRow, cell, parse_row, read
from centralino.errors import InvalidInput


def _rows(data: bytes) -> list[ParsedRow | list]:  # type: ignore[type-arg]
    _, rows = read(data)
    return [parse_row(line, raw) for line, raw in rows]


def test_a_good_row_is_normalised() -> None:
    [row] = _rows(b"name;phone;email;language;tags;attr.city;attributes\n"
                  b'Mario  Rossi;+39 347 123 4567| 0044 7700 900123;Mario@Example.com;it;VIP|clienti;Milano;'
                  b'"{""tier"": ""gold""}"\n')
    assert isinstance(row, ParsedRow)
    assert (row.display_name, row.language, row.tags) == ("Mario Rossi", "it", ["clienti", "vip"])
    assert row.phones == ["+393471234567", "+447700900123"] and row.emails == ["mario@example.com"]
    assert row.attributes == {"tier": "gold", "city": "Milano"}
    assert row.identities()[:2] == [("whatsapp", "393471234567"), ("phone", "+393471234567")]


def test_every_problem_of_a_row_is_named() -> None:
    rows = _rows(b"id,phone,email,language,tags,attributes,attr.City\n"
                 b"x1,123,nope,klingon,#$,[1],\n"
                 b",,,,,,\n"
                 b"7,,,,,,\n")
    assert [(e.row, e.column) for e in rows[0]] == [(2, "id"), (2, "phone"), (2, "email"), (2, "language"),
                                                    (2, "tags"), (2, "attributes")]
    assert [(e.row, e.column) for e in rows[1]] == [(3, "phone")]  # nothing to know the contact by
    assert isinstance(rows[2], ParsedRow) and rows[2].contact_id == 7


def test_a_bad_attribute_column_is_named() -> None:
    [errors] = _rows(b"phone,attr.city\n+393471234567," + b"x" * 501 + b"\n")
    assert [(e.row, e.column) for e in errors] == [(2, "attr.city")]


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"), (b"phone,shoe_size\n", "shoe_size"), (b"name,language\nMario,it\n", "id, phone or email"),
    (b"\xff\xfe", "UTF-8")])
def test_whole_file_problems_name_the_file(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        _rows(data)
    assert refused.value.field == "file" and message in refused.value.message


def test_formula_cells_are_guarded_and_read_back() -> None:
    assert cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and cell("+393471234567") == "+393471234567"
    assert cell("+1+1") == "'+1+1" and cell(None) == "" and cell({"a": 1}) == '{"a":1}'
    [row] = _rows(b"phone,name\n+393471234567,'=cmd\n")
    assert isinstance(row, ParsedRow) and row.display_name == "=cmd"
