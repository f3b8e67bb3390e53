"""Centralino: open-source omnichannel contact center, WhatsApp first."""

__version__ = "0.1.0"
