"""The one interface every channel implements, and the table that registers them."""

from __future__ import annotations

from typing import Protocol

from centralino.app.channel_directory import ChannelDirectory
from centralino.domain.inbound import InboundEvent
from centralino.storage.channels import Channel


class ChannelAdapter(Protocol):
    kind: str

    def verify_handshake(self, params: dict[str, str], directory: ChannelDirectory) -> str:
        """The body to answer a subscription handshake with; raises Forbidden when it is not ours."""
        ...

    def authenticate(self, body: bytes, headers: dict[str, str], directory: ChannelDirectory) -> None:
        """Raise Unauthenticated/Forbidden/InvalidInput unless `body` provably comes from the provider."""
        ...

    def parse(self, body: bytes) -> list[InboundEvent]:
        """Typed events in a stored delivery (never raises on unknown shapes)."""
        ...

    async def fetch_media(self, channel: Channel, provider_id: str, client: object) -> tuple[bytes, str | None]:
        """(file bytes, mime type) of a customer's attachment."""
        ...
