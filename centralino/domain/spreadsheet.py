"""A value as a CSV cell that a spreadsheet opens as text, never as a formula (CSV injection): exports of
contacts and of the consent ledger carry what customers and imports wrote."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

_E164 = re.compile(r"\+\d{6,15}")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = orjson.dumps(value).decode()
    text = str(value)
    if _E164.fullmatch(text):
        return text  # an E.164 number is not a formula
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
