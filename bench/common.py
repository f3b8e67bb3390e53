"""Shared constants and the builders of signed, Meta-shaped webhook requests."""

from __future__ import annotations

import time
from dataclasses import dataclass

from centralino.channels.whatsapp.adapter import sign
from centralino.simulator import payloads

PNID = "109990000000001"
WABA = "209990000000001"
DISPLAY = "15550001111"
APP_SECRET = "bench-app-secret"
VERIFY_TOKEN = "bench-verify-token"
ACCESS_TOKEN = "bench-access-token"
PATH = "/webhooks/whatsapp"


@dataclass(frozen=True)
class Req:
    data: bytes  # the whole HTTP/1.1 request, head and body


def http_post(body: bytes, signature: str, path: str = PATH) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-Hub-Signature-256: {signature}\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def wa_id(n: int) -> str:
    return f"39347{n % 10_000_000:07d}"  # Italian mobile numbers: valid E.164, so phone identities too


def ack_requests(count: int, start: int = 0, senders: int = 20_000, tag: str = "ACK") -> list[bytes]:
    """`count` distinct deliveries, each one text message with its own wamid, from many senders."""
    ts = int(time.time())
    out = []
    for i in range(start, start + count):
        sender = wa_id(i % senders)
        payload = payloads.envelope(
            WABA, PNID, DISPLAY, contacts=[payloads.contact(sender, f"Cliente {i % senders}")],
            messages=[payloads.text(sender, f"Buongiorno, ho un problema con l'ordine n. {100000 + i}",
                                    ts, msg_id=f"wamid.BENCH{tag}{i:012d}")])
        body = payloads.encode(payload)
        out.append(http_post(body, sign(body, APP_SECRET)))
    return out


def batch_requests(deliveries: int, per_delivery: int, *, sender_base: int, senders: int,
                   tag: str) -> list[bytes]:
    """Deliveries carrying `per_delivery` text messages each, from `senders` distinct senders."""
    ts = int(time.time())
    out = []
    n = 0
    for d in range(deliveries):
        contacts, messages = [], []
        for _ in range(per_delivery):
            sender = wa_id(sender_base + n % senders)
            contacts.append(payloads.contact(sender, f"Cliente {sender_base + n % senders}"))
            messages.append(payloads.text(sender, f"Messaggio {n}: vorrei sapere lo stato della spedizione",
                                          ts + d, msg_id=f"wamid.BENCH{tag}{n:012d}"))
            n += 1
        body = payloads.encode(payloads.envelope(WABA, PNID, DISPLAY, contacts=contacts, messages=messages))
        out.append(http_post(body, sign(body, APP_SECRET)))
    return out
