"""The virtual agent's rules (docs/bot.md): what the bot does with a customer's message once it is understood,
the texts it falls back on, and the handoff summary. Pure: no I/O; app/bot.py feeds it and carries it out."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class Automation(StrEnum):
    AUTO = "auto"  # the bot answers (or starts the intent's flow)
    SUGGEST = "suggest"  # the agent sends the bot's answer with one click
    HUMAN = "human"  # always handed to a person
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: object) -> Automation:
        try:
            return cls(str(value))
        except ValueError:
            return cls.UNKNOWN


class Decision(StrEnum):
    """bot_turns.decision: what the bot did with one customer message."""

    ANSWERED = "answered"
    SUGGESTED = "suggested"
    DIALOG = "dialog"
    REPHRASE = "rephrase"
    HANDOFF = "handoff"
    IGNORED = "ignored"  # a person owned the conversation by the time the bot got to it


class SessionState(StrEnum):
    ACTIVE = "active"
    HANDED_OFF = "handed_off"
    ENDED = "ended"


@dataclass(frozen=True)
class IntentPolicy:
    """An intent as the business configured it (bot_intents)."""

    name: str
    automation: Automation
    threshold: float
    answers: Mapping[str, str]
    flow: str | None = None  # the flow's name when the intent starts a dialog


@dataclass(frozen=True)
class Choice:
    """What to do: answer (text), flow (start `flow`), suggest (text for the agent), rephrase, handoff."""

    action: str
    reason: str | None = None  # handoff: why (docs/bot.md "Handoff")
    text: str | None = None
    flow: str | None = None
    unsure: bool = False  # below the threshold: a learning candidate


# Whole-message or leading words that mean "a person, please", in the languages the bot speaks.
HUMAN_WORDS = re.compile(
    r"^\W*(?:(?:i|want|would|like|to|talk|speak|with|an?|the|please|voglio|vorrei|posso|passami|parlare|"
    r"parlo|con|una?|l)[\s']+)*"
    r"(?:operatore|operatrice|persona|umano|assistente\s+umano|agent|agente|human|person|representative|"
    r"operator|someone)\b", re.IGNORECASE)


def asks_for_human(text: str) -> bool:
    """"operatore", "voglio parlare con un operatore", "agent", "human please"…"""
    return bool(HUMAN_WORDS.search(text.strip()))


def pick_text(texts: Mapping[str, str] | None, language: str, default_language: str) -> str | None:
    """The text in the customer's language, else the channel's default language, else any."""
    if not texts:
        return None
    for key in (language, default_language):
        if texts.get(key):
            return str(texts[key])
    return next((str(v) for v in texts.values() if v), None)


def choose(policy: IntentPolicy | None, confidence: float, *, rephrased: int, rephrase_limit: int,
           language: str, default_language: str) -> Choice:
    """The automation level of the predicted intent decides, at or above its threshold. Below it (or no intent,
    or an intent the business switched off): ask to rephrase `rephrase_limit` times in a row, then hand off."""
    if policy is None or confidence < policy.threshold:
        if rephrased < rephrase_limit:
            return Choice("rephrase", unsure=True)
        return Choice("handoff", reason="not_understood", unsure=True)
    if policy.automation is Automation.HUMAN:
        return Choice("handoff", reason="intent_for_a_person")
    text = pick_text(policy.answers, language, default_language)
    if policy.automation is Automation.AUTO:
        if policy.flow is not None:
            return Choice("flow", flow=policy.flow)
        if text is not None:
            return Choice("answer", text=text)
        return Choice("handoff", reason="no_answer")
    # suggest (and an automation level this version does not know: the careful choice)
    if text is not None:
        return Choice("suggest", text=text)
    return Choice("handoff", reason="no_answer")


DEFAULT_TEXTS: dict[str, dict[str, str]] = {
    "rephrase": {"it": "Scusa, non ho capito bene. Puoi riformulare con altre parole?",
                 "en": "Sorry, I did not quite get that. Could you put it in other words?"},
    "handoff": {"it": "Ti passo a un collega, ti risponderà al più presto.",
                "en": "I am passing you to a colleague, who will answer you shortly."},
    "service_error": {"it": "Mi dispiace, non riesco a recuperare queste informazioni in questo momento.",
                      "en": "Sorry, I cannot retrieve that information right now."},
    "case_opened": {"it": "Ho aperto la pratica {number}: ti aggiorneremo qui.",
                    "en": "I opened case {number}: we will keep you posted here."},
    # handing off out of hours (the bot holds the conversation for a closed queue): {opens} is opening_phrase()
    "closed": {"it": "Ora siamo chiusi: il team torna {opens}. La tua richiesta è in coda e ti risponderemo allora.",
               "en": "We are closed right now: the team is back {opens}. Your request is in the queue and we "
                     "will answer you then."},
    "closed_no_time": {"it": "Ora siamo chiusi: la tua richiesta è in coda e ti risponderemo appena possibile.",
                       "en": "We are closed right now: your request is in the queue and we will answer you as "
                             "soon as we can."},
}

_DAYS = {"it": ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"),
         "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}
_MONTHS = {"it": ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
                  "ottobre", "novembre", "dicembre"),
           "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                  "October", "November", "December")}


def phrase_language(language: str, default_language: str) -> str:
    """The language opening_phrase speaks for a customer: theirs if it knows it, else the channel's, else it."""
    return next((lang for lang in (language, default_language) if lang in _DAYS), "it")


def opening_phrase(opens: datetime, now: datetime, language: str) -> str:
    """When the team is back, for the customer, both times local to the queue: "domani alle 9:00", "lunedì 30
    novembre alle 9:00", "tomorrow at 9:00", "on Monday 30 November at 9:00"."""
    lang = language if language in _DAYS else "en"
    clock = f"{opens.hour}:{opens.minute:02d}"
    days = (opens.date() - now.date()).days
    if days in (0, 1):
        word = {("it", 0): "oggi", ("it", 1): "domani", ("en", 0): "today", ("en", 1): "tomorrow"}[(lang, days)]
        return f"{word} alle {clock}" if lang == "it" else f"{word} at {clock}"
    day, month = _DAYS[lang][opens.weekday()], _MONTHS[lang][opens.month - 1]
    if lang == "it":
        return f"{day} {opens.day} {month} alle {clock}"
    return f"on {day} {opens.day} {month} at {clock}"


def channel_text(key: str, texts: Mapping[str, Any] | None, language: str, default_language: str) -> str:
    """A fallback text: the channel's own (bot_settings.texts) or ours."""
    own = (texts or {}).get(key)
    found = pick_text(own, language, default_language) if isinstance(own, Mapping) else None
    return found or pick_text(DEFAULT_TEXTS[key], language, default_language) or ""


REASON_TEXT = {
    "not_understood": "not understood after rephrasing",
    "intent_for_a_person": "intent handled by people",
    "no_answer": "no answer configured",
    "customer_asked": "the customer asked for a person",
    "suggested": "answer suggested to the agent",
    "service_failed": "a service call failed",
    "flow": "the dialog handed off",
    "cannot_send": "the bot could not send its answer",
    "no_model": "no trained model yet",
    "failed": "the bot failed on this message",
    "not_text": "the customer sent something other than text",
    "case_failed": "the case could not be opened",
    "queue_open": "the queue opened (the bot held it out of hours)",
}


def summary(*, reason: str, intent: str | None, confidence: float | None, language: str | None,
            entities: Sequence[Mapping[str, Any]], slots: Mapping[str, Any], turns: Sequence[Mapping[str, Any]],
            flow: str | None) -> dict[str, Any]:
    """What the agent sees when a conversation is handed over (bot_sessions.summary)."""
    wanted = f"{intent} ({confidence:.0%})" if intent and confidence is not None else "intent unknown"
    parts = [f"Customer ({language or '?'}): {wanted}"]
    if slots:
        parts.append(", ".join(f"{k}={v}" for k, v in slots.items()))
    elif entities:
        parts.append(", ".join(f"{e.get('kind')}={e.get('value')}" for e in entities))
    parts.append(f"handed off: {REASON_TEXT.get(reason, reason)}")
    return {"reason": reason, "intent": intent, "confidence": confidence, "language": language,
            "entities": list(entities), "slots": dict(slots), "flow": flow, "turns": list(turns),
            "text": "; ".join(parts)}
