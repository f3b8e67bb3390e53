"""The table of channel adapters, by kind."""

from __future__ import annotations

from centralino.channels.base import ChannelAdapter
from centralino.channels.whatsapp.adapter import WhatsAppAdapter

ADAPTERS: dict[str, ChannelAdapter] = {
    WhatsAppAdapter.kind: WhatsAppAdapter(),
}


def adapter(kind: str) -> ChannelAdapter:
    try:
        return ADAPTERS[kind]
    except KeyError:
        raise KeyError(f"no channel adapter for kind {kind!r}") from None
