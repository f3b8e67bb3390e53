"""The one interface every channel implements, and the table that registers them."""

from __future__ import annotations

from typing import Protocol

from centralino.app.channel_directory import ChannelDirectory
from centralino.domain.inbound import InboundEvent
from centralino.domain.sending import OutboundJob, SendOutcome
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

    async def send(self, channel: Channel, job: OutboundJob, client: object) -> SendOutcome:
        """Send one message; Accepted(provider id) or Refused(retry class, code, title). Never raises for
        provider or network errors: a refusal is an outcome the sender records."""
        ...

    async def mark_read(self, channel: Channel, external_id: str, client: object) -> SendOutcome:
        """Tell the customer their message (and the earlier ones) was read."""
        ...

    async def upload_media(self, channel: Channel, content: bytes, mime_type: str, filename: str,
                           client: object) -> SendOutcome:
        """Hand one of our files to the provider; Accepted(the provider's media id) or Refused."""
        ...
