"""Entities in a customer's message: codes by configurable patterns, dates and times (Italian and English,
day-month order, relative to `now`), amounts, numbers in words, emails, phones (E.164), Italian fiscal codes
and IBANs (checksums validated: an invalid one is not an entity).

Dates: candidate spans are found by our own patterns ("domani", "lunedì prossimo", "12 marzo", "3/4",
"alle 15:30", "tomorrow at 3pm") and each is parsed with dateparser; searching whole messages with
dateparser costs 20-200 ms and finds dates in order numbers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

from centralino.bot.nlu.types import Entity

DEFAULT_PATTERNS: dict[str, str] = {
    # a group, if any, is the value; the value is upper-cased
    "order_number": r"(?i)\b(?:ordine|order|ord\.)\s*(?:n\.?|nr\.?|no\.?|num\.?|numero|number)?\s*[:#]?\s*"
                    r"([A-Z]{0,3}-?\d{4,12})\b",
    "tracking_code": r"\b(1Z[0-9A-Z]{16}|[A-Z]{2}\d{9}[A-Z]{2})\b",
    "booking_code": r"(?i)\b(?:prenotazione|booking|pnr|codice\s+(?:di\s+)?prenotazione|booking\s+code)"
                    r"\s*(?:n\.?|code|codice)?\s*[:#]?\s*([A-Z0-9]{6})\b",
}
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")
_FISCAL = re.compile(r"\b[A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z]"
                     r"[0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z]\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_AMOUNT = re.compile(r"(?i)(?:€|\$|£|\b(?:eur|euro|usd|gbp)\b)\s*\d[\d.,]*|\d[\d.,]*\s*(?:€|\$|£|\b(?:eur|euro|euros|"
                     r"usd|dollar[si]?|dollari|gbp|sterline)\b)")
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)?\b")
_WORDS = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")

_MONTHS = ("gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre|"
           "gen|feb|mar|apr|mag|giu|lug|ago|set|ott|nov|dic|january|february|march|april|may|june|july|august|"
           "september|october|november|december|jan|jun|jul|aug|sep|sept|oct|dec")
_WEEKDAYS = ("lunedì|lunedi|martedì|martedi|mercoledì|mercoledi|giovedì|giovedi|venerdì|venerdi|sabato|domenica|"
             "monday|tuesday|wednesday|thursday|friday|saturday|sunday")
_DAYS = ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica",
         "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_INDEX = {name: i % 7 for i, name in enumerate(_DAYS)} | {
    name: i for i, name in enumerate(("lunedi", "martedi", "mercoledi", "giovedi", "venerdi"))}
_MONTH_INDEX = {m: (i % 12) + 1 for i, m in enumerate(
    ("gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic",
     "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_RELATIVE_DAYS = {"oggi": 0, "today": 0, "domani": 1, "tomorrow": 1, "dopodomani": 2, "day after tomorrow": 2,
                  "ieri": -1, "yesterday": -1}
_DATE = re.compile(
    r"(?i)\b(?:\d{4}-\d{1,2}-\d{1,2}|dopodomani|domani|oggi|ieri|day after tomorrow|tomorrow|today|yesterday"
    rf"|(?:next|this|prossimo|prossima)\s+(?:{_WEEKDAYS})|(?:{_WEEKDAYS})(?:\s+(?:prossimo|prossima|next))?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\.?(?:\s+\d{{4}})?|(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?"
    r"(?:,?\s+\d{4})?|\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?"
    r"|(?:tra|fra)\s+\d+\s+giorni|in\s+\d+\s+days)\b")
_TIME = re.compile(r"(?i)(?:\b(?:alle|ore|at|@|dalle)\s+(?:ore\s+)?)?\b(\d{1,2})(?:[:.](\d{2}))?(?:\s*(am|pm))?\b")
_JOIN = re.compile(r"(?i)^\s*(?:,|alle|at|ore|verso le|dalle|around)?\s*$")
PRIORITY = ("iban", "fiscal_code", "email", "tracking_code", "booking_code", "order_number", "phone", "amount",
            "datetime", "date", "time", "number")


def extract_entities(text: str, *, language: str | None, region: str | None = "IT",
                     patterns: Mapping[str, str] | None = None, now: datetime | None = None) -> list[Entity]:
    """Entities in order of position; where two overlap, the more specific kind wins (PRIORITY)."""
    found: list[Entity] = []
    for kind, pattern in (DEFAULT_PATTERNS if patterns is None else patterns).items():
        for m in re.finditer(pattern, text):
            group = m.lastindex and m.group(1) is not None
            start, end = (m.start(1), m.end(1)) if group else (m.start(), m.end())
            found.append(Entity(kind, text[start:end].upper(), text[start:end], start, end))
    found += _emails(text) + _fiscal_codes(text) + _ibans(text) + _phones(text, region) + _amounts(text)
    found += _dates_times(text, language, now or datetime.now())
    found += _numbers(text, language)
    return _resolve(found, list(patterns or DEFAULT_PATTERNS))


def warm_up() -> None:
    """Import the libraries and load dateparser's Italian and English data now (~2-5 s in all) rather than
    on a customer's first message."""
    extract_entities("il 12 marzo alle 10, 12,50 € CF RSSMRA85T10A562S IT60X0542811101000000123456 "
                     "347 123 4567 ventitré", language="it")
    extract_entities("on march 12 at 3pm, $12.50, twenty three", language="en")


def _resolve(found: list[Entity], pattern_kinds: list[str]) -> list[Entity]:
    order = {kind: i for i, kind in enumerate(PRIORITY)}
    for kind in pattern_kinds:
        order.setdefault(kind, order["order_number"])
    kept: list[Entity] = []
    for e in sorted(found, key=lambda e: (order.get(e.kind, len(order)), -(e.end - e.start), e.start)):
        if all(e.end <= k.start or e.start >= k.end for k in kept):
            kept.append(e)
    return sorted(kept, key=lambda e: (e.start, e.end))


def _emails(text: str) -> list[Entity]:
    return [Entity("email", m.group().lower(), m.group(), m.start(), m.end()) for m in _EMAIL.finditer(text)]


def _fiscal_codes(text: str) -> list[Entity]:
    from stdnum.it import codicefiscale

    return [Entity("fiscal_code", m.group().upper(), m.group(), m.start(), m.end()) for m in _FISCAL.finditer(text)
            if codicefiscale.is_valid(m.group().upper())]


def _ibans(text: str) -> list[Entity]:
    from stdnum import iban

    out = []
    for m in _IBAN.finditer(text.upper()):
        raw = text[m.start():m.end()]
        compact = iban.compact(raw)
        if iban.is_valid(compact):
            out.append(Entity("iban", compact, raw, m.start(), m.end()))
    return out


def _phones(text: str, region: str | None) -> list[Entity]:
    import phonenumbers

    out = []
    for match in phonenumbers.PhoneNumberMatcher(text, region or "IT", leniency=phonenumbers.Leniency.VALID):
        value = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        out.append(Entity("phone", value, match.raw_string, match.start, match.end))
    return out


def _amounts(text: str) -> list[Entity]:
    from price_parser import Price

    out = []
    for m in _AMOUNT.finditer(text):
        raw = m.group().strip()
        price = Price.fromstring(raw, decimal_separator=_decimal_separator(raw))
        if price.amount is None:
            continue
        currency = _currency(price.currency or raw)
        start = m.start() + (len(m.group()) - len(m.group().lstrip()))
        out.append(Entity("amount", f"{price.amount:.2f} {currency}".strip(), raw, start, start + len(raw)))
    return out


def _decimal_separator(raw: str) -> str | None:
    digits = re.sub(r"[^\d.,]", "", raw)
    if "," in digits and ("." not in digits or digits.rfind(",") > digits.rfind(".")):
        return "," if len(digits) - digits.rfind(",") - 1 in (1, 2) else "."
    return None


def _currency(symbol: str) -> str:
    s = symbol.lower()
    if "€" in s or "eur" in s:
        return "EUR"
    if "$" in s or "usd" in s or "dollar" in s:
        return "USD"
    if "£" in s or "gbp" in s or "sterlin" in s:
        return "GBP"
    return ""


def _numbers(text: str, language: str | None) -> list[Entity]:
    out = [Entity("number", m.group().replace(",", "."), m.group(), m.start(), m.end())
           for m in _NUMBER.finditer(text)]
    from text_to_num import text2num

    lang = language if language in ("it", "en") else "it"
    words = list(_WORDS.finditer(text))
    i = 0
    while i < len(words):
        best = None
        for j in range(min(len(words), i + 8), i, -1):  # the longest run of words that is one number
            span = text[words[i].start():words[j - 1].end()]
            try:
                best = (j, text2num(span.lower(), lang))
                break
            except ValueError:
                continue
        if best is None or words[i].group().lower() in ("un", "uno", "una", "a", "an"):
            i += 1
            continue
        j, value = best
        out.append(Entity("number", str(value), text[words[i].start():words[j - 1].end()], words[i].start(),
                          words[j - 1].end()))
        i = j
    return out


def _dates_times(text: str, language: str | None, now: datetime) -> list[Entity]:
    dates = [(m.start(), m.end(), d) for m in _DATE.finditer(text)
             if (d := _parse_date(m.group(), language, now)) is not None]
    times = []
    for m in _TIME.finditer(text):
        has_marker = m.group(2) is not None or m.group(3) is not None or m.group().lower().strip()[:1] in "ao@d"
        if not has_marker or any(s <= m.start(1) < e for s, e, _ in dates):
            continue
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if m.group(3):
            hour = hour % 12 + (12 if m.group(3).lower() == "pm" else 0)
        if hour < 24 and minute < 60:
            times.append((m.start(), m.end(), time(hour, minute)))
    out, used = [], set()
    for ds, de, d in dates:
        joined = next(((ts, te, t) for ts, te, t in times if ts >= de and _JOIN.match(text[de:ts])), None)
        if joined is None:
            joined = next(((ts, te, t) for ts, te, t in times if te <= ds and _JOIN.match(text[te:ds])), None)
        if joined:
            used.add(joined[0])
            start, end = min(ds, joined[0]), max(de, joined[1])
            value = datetime.combine(d, joined[2]).isoformat(timespec="minutes")
            out.append(Entity("datetime", value, text[start:end], start, end))
        else:
            out.append(Entity("date", d.isoformat(), text[ds:de], ds, de))
    out += [Entity("time", t.strftime("%H:%M"), text[s:e], s, e) for s, e, t in times if s not in used]
    return out


def _next_date(now: datetime, day: int, month: int, year_text: str | None) -> date | None:
    year = int(year_text) if year_text else now.year
    year += 2000 if year < 100 else 0
    try:
        found = date(year, month, day)
        if not year_text and found < now.date():
            found = found.replace(year=year + 1)
    except ValueError:  # 31/4, or 29/2 of a year without it
        return None
    return found


def _parse_date(span: str, language: str | None, now: datetime) -> date | None:
    import dateparser

    lowered = span.lower()
    if lowered in _RELATIVE_DAYS:
        return (now + timedelta(days=_RELATIVE_DAYS[lowered])).date()
    m = re.match(r"(?:tra|fra|in)\s+(\d+)\s+(?:giorni|days)", lowered)
    if m:
        return (now + timedelta(days=int(m.group(1)))).date()
    weekday = re.search(_WEEKDAYS, lowered)
    if weekday:  # the next such day after today ("lunedì", "lunedì prossimo", "next monday")
        index = _WEEKDAY_INDEX[weekday.group()]
        ahead = (index - now.weekday()) % 7 or 7
        return (now + timedelta(days=ahead)).date()
    named = re.fullmatch(rf"(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTHS})\.?(?:\s+(\d{{4}}))?", lowered) or \
        re.fullmatch(rf"({_MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?", lowered)
    if named:  # "12 marzo", "march 12th, 2027": the next such day unless a year is given
        day_text, month_text = (named.group(1), named.group(2)) if named.group(1)[0].isdigit() else \
            (named.group(2), named.group(1))
        return _next_date(now, int(day_text), _MONTH_INDEX[month_text[:3]], named.group(3))
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", lowered)
    if iso:  # 2026-12-05: year first, whatever the language's day-month order
        return _next_date(now, int(iso.group(3)), int(iso.group(2)), iso.group(1))
    numeric = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?", lowered)
    if numeric:  # day first; without a year the next such day ("9.45" is no date: a time)
        return _next_date(now, int(numeric.group(1)), int(numeric.group(2)), numeric.group(3))
    languages = [language] if language in ("it", "en") else ["it", "en"]
    parsed = dateparser.parse(span, languages=languages, settings={
        "DATE_ORDER": "DMY", "RELATIVE_BASE": now, "PREFER_DATES_FROM": "future",
        "RETURN_AS_TIMEZONE_AWARE": False})
    return parsed.date() if parsed else None
