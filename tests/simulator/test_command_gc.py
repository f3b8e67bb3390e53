"""The standalone simulator freezes what survives a full collection, so the next ones stay short."""

from __future__ import annotations

import gc

from centralino.simulator.command import freeze_survivors_of_full_collections


def test_survivors_of_a_full_collection_are_frozen():
    before = list(gc.callbacks)
    try:
        freeze_survivors_of_full_collections()
        gc.unfreeze()
        kept = [object() for _ in range(10)] + [[i] for i in range(1000)]  # long-lived store entries
        gc.collect(1)
        assert gc.get_freeze_count() == 0  # only a full collection freezes
        gc.collect()
        assert gc.get_freeze_count() >= len(kept) - 10
    finally:
        gc.callbacks[:] = before
        gc.unfreeze()
