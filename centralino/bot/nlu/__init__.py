"""Natural-language understanding: intents (encoder + linear head), entities, language (docs/nlu.md)."""

from centralino.bot.nlu.types import Entity, Example, Prediction

__all__ = ["Entity", "Example", "Prediction"]
