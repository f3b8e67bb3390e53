from __future__ import annotations

import pytest

from centralino.bot.dialog.engine import Say, TurnInput, advance, start
from centralino.bot.dialog.flow import load_flow
from centralino.bot.dialog.render import to_content
from centralino.domain.outbound import ListMessage, ReplyButton, ReplyButtons, Text, validate


def test_up_to_three_short_options_are_whatsapp_reply_buttons() -> None:
    content = to_content(Say("Confermi?", buttons=(("yes", "Sì"), ("no", "No"))), "whatsapp")
    assert content == ReplyButtons(body="Confermi?", buttons=(ReplyButton("yes", "Sì"), ReplyButton("no", "No")))
    validate(content)


def test_more_options_or_long_titles_are_a_whatsapp_list() -> None:
    rows = tuple((f"r{i}", f"Opzione {i}") for i in range(1, 8))
    content = to_content(Say("Quale?", list_rows=rows, list_button="Scegli"), "whatsapp")
    assert isinstance(content, ListMessage) and content.button == "Scegli"
    assert [(r.id, r.title) for r in content.sections[0].rows] == list(rows)
    validate(content)
    long_titles = to_content(Say("Quando?", buttons=(("a", "Mattina presto (8-10)"), ("b", "Pomeriggio"))),
                             "whatsapp")
    assert isinstance(long_titles, ListMessage)  # 21 characters: too long for a button, fine for a row
    validate(long_titles)


def test_other_channels_get_numbered_plain_text() -> None:
    content = to_content(Say("Confermi?", buttons=(("yes", "Sì"), ("no", "No"))), "email")
    assert content == Text(body="Confermi?\n\n1. Sì\n2. No")
    assert to_content(Say("Ciao"), "whatsapp") == Text(body="Ciao")


def test_options_that_fit_no_interactive_shape_fall_back_to_text_on_whatsapp() -> None:
    titles = (("a", "x" * 30), ("b", "y"))
    content = to_content(Say("Quale?", buttons=titles), "whatsapp")
    assert isinstance(content, Text) and content.body.endswith("1. " + "x" * 30 + "\n2. y")


@pytest.mark.parametrize(("reply", "expected"), [("1", "yes"), ("2", "no")])
def test_a_numbered_text_reply_answers_the_prompt(reply: str, expected: str) -> None:
    flow = load_flow("""
name: f
steps:
  - {id: c, kind: confirm, prompt: "Procedo?", yes: y, no: n}
  - {id: y, kind: end, answer: "yes"}
  - {id: n, kind: end, answer: "no"}
""")
    started = start(flow, TurnInput("hi"))
    shown = to_content(started.says[0], "webform")
    assert isinstance(shown, Text) and shown.body == "Procedo?\n\n1. Sì\n2. No"
    result = advance(flow, started.state, TurnInput(reply))  # type: ignore[arg-type]
    assert result.ending is not None and result.ending.text == expected
