"""A `Say` as content a channel can send (domain/outbound.py).

WhatsApp: up to 3 options as reply buttons (titles <= 20 characters), up to 10 as a list (titles <= 24);
options that fit neither, and every other channel, become plain text with numbered options — the engine
accepts "1", "2", … as answers. A Say's document is not content here: the runtime uploads it first and sends
it as a document with the text as caption.
"""

from __future__ import annotations

from centralino.bot.dialog.engine import Say
from centralino.domain.outbound import (
    BUTTON_TITLE_MAX,
    BUTTONS_MAX,
    INTERACTIVE_BODY_MAX,
    LIST_BUTTON_MAX,
    ROW_TITLE_MAX,
    ROWS_MAX,
    TEXT_BODY_MAX,
    Content,
    ListMessage,
    ListRow,
    ListSection,
    ReplyButton,
    ReplyButtons,
    Text,
)

INTERACTIVE_CHANNELS = frozenset({"whatsapp"})


def to_content(say: Say, channel_kind: str) -> Content:
    options = say.buttons or say.list_rows
    body = say.text.strip() or "…"
    if not options:
        return Text(body=body[:TEXT_BODY_MAX])
    if channel_kind in INTERACTIVE_CHANNELS and len(body) <= INTERACTIVE_BODY_MAX and _distinct(options):
        titles = [title for _, title in options]
        if len(options) <= BUTTONS_MAX and all(0 < len(t) <= BUTTON_TITLE_MAX for t in titles):
            return ReplyButtons(body=body, buttons=tuple(ReplyButton(id=i, title=t) for i, t in options))
        if len(options) <= ROWS_MAX and all(0 < len(t) <= ROW_TITLE_MAX for t in titles):
            label = (say.list_button or "Scegli")[:LIST_BUTTON_MAX]
            rows = tuple(ListRow(id=i, title=t) for i, t in options)
            return ListMessage(body=body, button=label, sections=(ListSection(rows=rows),))
    return Text(body=numbered(body, [title for _, title in options])[:TEXT_BODY_MAX])


def numbered(body: str, titles: list[str]) -> str:
    """The prompt followed by "1. …" lines: what a plain-text channel shows for buttons."""
    lines = [f"{n}. {title}" for n, title in enumerate(titles, start=1)]
    return body + "\n\n" + "\n".join(lines)


def _distinct(options: tuple[tuple[str, str], ...]) -> bool:
    ids = [i for i, _ in options]
    titles = [t for _, t in options]
    return len(set(ids)) == len(ids) and len(set(titles)) == len(titles) and all(ids)
