"""Default values of the simulator: the demo business number, addresses, delays and seeded templates.

`centralino demo` and `centralino simulator` both use the demo number below, so the product's demo
channel and a standalone simulator agree without configuration.
"""

from __future__ import annotations

from typing import Any

DEMO_WABA = "100000000000001"
DEMO_PNID = "100000000000011"
DEMO_DISPLAY = "15550001111"
DEMO_VERIFIED_NAME = "Centralino Demo"
DEMO_APP_SECRET = "demo-app-secret"  # noqa: S105 - published demo value, refused in production
DEMO_VERIFY_TOKEN = "demo-verify-token"  # noqa: S105
DEMO_ACCESS_TOKEN = "demo-access-token"  # noqa: S105

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8900
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8000/webhooks/whatsapp"
DEFAULT_GRAPH_VERSION = "v23.0"

# Seconds from acceptance to `sent`, then to `delivered`, then to `read`.
DEFAULT_STATUS_DELAYS = (0.05, 0.2, 0.5)
DEFAULT_MPS = 80
DEFAULT_PAIR_INTERVAL = 6.0
WINDOW_SECONDS = 24 * 3600

# Every real WABA comes with Meta's sample template.
HELLO_WORLD: dict[str, Any] = {
    "name": "hello_world",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
        {"type": "BODY", "text": "Welcome and congratulations!! This message demonstrates your ability to send a "
                                 "WhatsApp message notification from the Cloud API, hosted by Meta. Thank you for "
                                 "taking the time to test with us."},
        {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"},
    ],
}

# Approved templates of the demo WABA (Italian and English, with variables and quick replies).
DEMO_TEMPLATES: tuple[dict[str, Any], ...] = (
    HELLO_WORLD,
    {
        "name": "order_update",
        "language": "it",
        "category": "UTILITY",
        "components": [
            {"type": "BODY", "text": "Ciao {{1}}, il tuo ordine {{2}} è in consegna oggi.",
             "example": {"body_text": [["Giulia", "4711"]]}},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Va bene"},
                                            {"type": "QUICK_REPLY", "text": "Cambia orario"}]},
        ],
    },
    {
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {"type": "BODY", "text": "Hi {{1}}, your order {{2}} is out for delivery today.",
             "example": {"body_text": [["Marco", "4711"]]}},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "OK"},
                                            {"type": "QUICK_REPLY", "text": "Change time"}]},
        ],
    },
    {
        "name": "conversation_reopen",
        "language": "it",
        "category": "UTILITY",
        "components": [
            {"type": "BODY", "text": "Ciao {{1}}, abbiamo una risposta alla tua richiesta. Rispondi a questo "
                                     "messaggio per continuare.",
             "example": {"body_text": [["Giulia"]]}},
        ],
    },
)

# A 1x1 PNG and a one-page PDF: what a simulated customer sends when no file is given.
SAMPLE_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005fe02fea7d6a4"
    "9d0000000049454e44ae426082"
)
SAMPLE_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>"
              b"endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
