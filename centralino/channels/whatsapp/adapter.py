"""WhatsApp Cloud API channel: webhook handshake, signature, parsing, media download."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, cast

import aiohttp
import orjson

from centralino.app.channel_directory import ChannelDirectory
from centralino.channels.whatsapp import graph
from centralino.channels.whatsapp import outbound as payloads
from centralino.channels.whatsapp.parser import parse_delivery
from centralino.domain.inbound import InboundEvent
from centralino.domain.sending import Accepted, OutboundJob, Refused, Retry, SendOutcome
from centralino.errors import Forbidden, InvalidInput, Unauthenticated
from centralino.storage.channels import Channel

KIND = "whatsapp"
SIGNATURE_HEADER = "x-hub-signature-256"


def sign(body: bytes, app_secret: str) -> str:
    """The X-Hub-Signature-256 value Meta sends for `body` (used by the simulator and tests too)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def routing_keys(payload: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(phone_number_ids, WABA ids of entries that name no number) a delivery is addressed to."""
    numbers: set[str] = set()
    accounts: set[str] = set()
    entries = payload.get("entry")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        entry_numbers = set()
        changes = entry.get("changes")
        for change in changes if isinstance(changes, list) else []:
            value = change.get("value") if isinstance(change, dict) else None
            metadata = value.get("metadata") if isinstance(value, dict) else None
            if isinstance(metadata, dict) and metadata.get("phone_number_id") is not None:
                entry_numbers.add(str(metadata["phone_number_id"]))
        numbers |= entry_numbers
        if not entry_numbers and entry.get("id") is not None:
            accounts.add(str(entry["id"]))
    return numbers, accounts


class WhatsAppAdapter:
    kind = KIND

    def verify_handshake(self, params: dict[str, str], directory: ChannelDirectory) -> str:
        if params.get("hub.mode") != "subscribe":
            raise Forbidden("hub.mode must be 'subscribe'", field="hub.mode", code="webhook.handshake_refused")
        given = params.get("hub.verify_token", "").encode()
        tokens = [ch.secret("verify_token") for ch in directory.all(KIND)]
        if not given or not any(t and hmac.compare_digest(given, t.encode()) for t in tokens):
            raise Forbidden("verify token does not match any WhatsApp channel", field="hub.verify_token",
                            code="webhook.handshake_refused")
        return params.get("hub.challenge", "")

    def authenticate(self, body: bytes, headers: dict[str, str], directory: ChannelDirectory) -> None:
        signature = headers.get(SIGNATURE_HEADER)
        if not signature:
            raise Unauthenticated("X-Hub-Signature-256 header is missing", field="X-Hub-Signature-256",
                                  code="webhook.signature_missing")
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"body is not valid JSON: {exc}", code="webhook.malformed_json") from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
            raise InvalidInput("body must be a JSON object with an 'entry' list", field="entry",
                               code="webhook.malformed_payload")
        numbers, accounts = routing_keys(payload)
        channels: list[Channel] = []
        for number in numbers:
            channel = directory.by_address(KIND, number)
            if channel is None:
                raise Forbidden(f"no WhatsApp channel has phone_number_id {number}",
                                field="metadata.phone_number_id", code="webhook.unknown_channel")
            channels.append(channel)
        for account in accounts:
            found = directory.by_account(KIND, account)
            if not found:
                raise Forbidden(f"no WhatsApp channel belongs to WABA {account}", field="entry.id",
                                code="webhook.unknown_channel")
            channels.extend(found)
        if not channels:
            raise InvalidInput("delivery names no phone number or WABA", field="entry",
                               code="webhook.malformed_payload")
        # Every channel named must vouch for the body: a secret known for one number cannot
        # be used to forge updates for another app's number in the same POST.
        secrets = {ch.secret("app_secret") or "" for ch in channels}
        given = signature.encode()
        for secret in secrets:
            if not secret or not hmac.compare_digest(given, sign(body, secret).encode()):
                raise Forbidden("X-Hub-Signature-256 does not match the body", field="X-Hub-Signature-256",
                                code="webhook.signature_invalid")

    def parse(self, body: bytes) -> list[InboundEvent]:
        payload = orjson.loads(body)
        return parse_delivery(payload) if isinstance(payload, dict) else []

    async def fetch_media(self, channel: Channel, provider_id: str, client: object) -> tuple[bytes, str | None]:
        return await graph.download_media(channel, provider_id, client)

    async def send(self, channel: Channel, job: OutboundJob, client: object) -> SendOutcome:
        try:
            body = payloads.message_body(
                job.content, recipient_kind=job.recipient_kind, recipient=job.recipient,
                callback_data=job.callback_data, reply_to_external_id=job.reply_to_external_id,
                target_external_id=job.target_external_id, provider_media=job.provider_media)
        except (payloads.MissingProviderMedia, ValueError) as exc:
            return Refused(Retry.PERMANENT, None, f"cannot build the message: {exc!r}")
        try:
            return Accepted(await graph.send_message(channel, body, _session(client)))
        except graph.GraphError as exc:
            return _refused(exc)

    async def mark_read(self, channel: Channel, external_id: str, client: object) -> SendOutcome:
        try:
            await graph.mark_read(channel, external_id, payloads.read_body(external_id), _session(client))
        except graph.GraphError as exc:
            return _refused(exc)
        return Accepted(None)

    async def upload_media(self, channel: Channel, content: bytes, mime_type: str, filename: str,
                           client: object) -> SendOutcome:
        try:
            return Accepted(await graph.upload_media(channel, content, mime_type, filename,
                                                      _session(client)))
        except graph.GraphError as exc:
            return _refused(exc)


def _session(client: object) -> aiohttp.ClientSession:
    """Graph API calls go through the workers' aiohttp session (workers/http_client.py)."""
    return cast(aiohttp.ClientSession, client)


def _refused(exc: graph.GraphError) -> Refused:
    return Refused(exc.retry, exc.code, exc.message, exc.details, exc.http_status)
