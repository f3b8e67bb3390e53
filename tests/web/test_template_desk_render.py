"""An outbound template in the conversation: labelled as a template, shown as the customer sees it."""

from __future__ import annotations

from datetime import UTC, datetime

from centralino.domain.outbound import TemplateMessage
from centralino.domain.outbound_codec import to_dict
from centralino.web.desk.i18n import translator
from centralino.web.desk.pages import ENV
from centralino.web.desk.render import message_view


def test_an_outbound_template_shows_its_label_and_its_preview_escaped() -> None:
    preview = "Ordine A-1\nCiao <b>Anna</b>, il tuo ordine è partito.\n[Traccia]"
    content = TemplateMessage(name="order_shipped", language="it", category="utility", components=(),
                              preview=preview)
    row = {"id": 9, "direction": "out", "type": "template", "text": preview, "content": to_dict(content),
           "status": "sent", "sent_at": datetime(2026, 11, 25, 9, 30, tzinfo=UTC), "forwarded": False,
           "reactions": [], "media": None, "delivery": None, "error_code": None, "error_title": None,
           "error_details": None}
    view = message_view(row, None)
    assert view["template"] == {"name": "order_shipped", "language": "it"} and view["text"] == preview
    for language, label in (("en", "Template"), ("it", "Modello")):
        html = ENV.get_template("_message.html").render(m=view, t=translator(language))
        assert f'<span class="muted">{label}</span> order_shipped it' in html
        assert "Ciao &lt;b&gt;Anna&lt;/b&gt;, il tuo ordine è partito.\n[Traccia]" in html
