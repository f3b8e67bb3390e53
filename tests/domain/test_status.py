"""resolve_status: the shown delivery status is a function of the set of statuses reported."""

from __future__ import annotations

from itertools import permutations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centralino.domain.enums import DeliveryStatus as S
from centralino.domain.status import is_progress, rank, resolve_status

ALL = list(S)
PROGRESS = [S.QUEUED, S.SENT, S.DELIVERED, S.READ, S.PLAYED]


def test_rank_orders_progress_and_leaves_others_out() -> None:
    assert [rank(s) for s in PROGRESS] == sorted(rank(s) for s in PROGRESS)
    assert rank(S.SENT) < rank(S.DELIVERED) < rank(S.READ) < rank(S.PLAYED)
    assert rank(S.FAILED) == rank(S.UNKNOWN) == rank(S.RECEIVED) == -1


@pytest.mark.parametrize(
    ("seen", "expected"),
    [
        ([], S.QUEUED),
        ([S.SENT], S.SENT),
        ([S.SENT, S.DELIVERED], S.DELIVERED),
        ([S.SENT, S.DELIVERED, S.READ], S.READ),
        ([S.READ, S.DELIVERED], S.READ),
        ([S.SENT, S.READ], S.READ),  # delivered skipped: read implies it
        ([S.DELIVERED, S.READ, S.PLAYED], S.PLAYED),
        ([S.FAILED], S.FAILED),
        ([S.SENT, S.FAILED], S.FAILED),
        ([S.QUEUED, S.FAILED], S.FAILED),
        ([S.FAILED, S.DELIVERED], S.DELIVERED),  # multi-device: it did reach the user
        ([S.SENT, S.FAILED, S.READ], S.READ),
        ([S.UNKNOWN], S.QUEUED),
        ([S.SENT, S.UNKNOWN], S.SENT),
        ([S.FAILED, S.UNKNOWN], S.FAILED),
    ],
)
def test_resolve_status(seen: list[S], expected: S) -> None:
    for order in permutations(seen):
        assert resolve_status(order) is expected, order


def test_duplicates_do_not_matter() -> None:
    assert resolve_status([S.DELIVERED, S.DELIVERED, S.SENT, S.DELIVERED]) is S.DELIVERED
    assert resolve_status([S.FAILED, S.FAILED, S.SENT]) is S.FAILED


def test_accepts_any_iterable() -> None:
    assert resolve_status(iter([S.SENT, S.READ])) is S.READ
    assert resolve_status({S.SENT, S.DELIVERED}) is S.DELIVERED


def test_late_delivered_never_downgrades_current_read() -> None:
    assert resolve_status([S.DELIVERED], current=S.READ) is S.READ
    assert resolve_status([S.SENT], current=S.DELIVERED) is S.DELIVERED


def test_current_status_is_part_of_the_set() -> None:
    assert resolve_status([S.READ], current=S.SENT) is S.READ
    assert resolve_status([], current=S.FAILED) is S.FAILED
    assert resolve_status([S.DELIVERED], current=S.FAILED) is S.DELIVERED
    assert resolve_status([S.FAILED], current=S.SENT) is S.FAILED
    assert resolve_status([S.FAILED], current=S.READ) is S.READ


def test_unknown_keeps_the_current_status() -> None:
    assert resolve_status([S.UNKNOWN], current=S.DELIVERED) is S.DELIVERED
    assert resolve_status([S.UNKNOWN], current=S.FAILED) is S.FAILED
    assert resolve_status([S.UNKNOWN], current=S.SENT) is S.SENT
    assert resolve_status([S.UNKNOWN], current=S.RECEIVED) is S.RECEIVED


def test_is_progress() -> None:
    assert all(is_progress(s) for s in PROGRESS)
    assert is_progress(S.FAILED)
    assert not is_progress(S.UNKNOWN)
    assert not is_progress(S.RECEIVED)


# --- properties ---------------------------------------------------------------------------------------------------

statuses = st.lists(st.sampled_from(ALL), max_size=8)
currents = st.none() | st.sampled_from(ALL)


@given(seen=statuses, current=currents, data=st.data())
def test_order_and_repetition_never_matter(seen: list[S], current: S | None, data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(seen))
    repeated = shuffled + data.draw(st.lists(st.sampled_from(seen), max_size=4)) if seen else shuffled
    assert resolve_status(shuffled, current) is resolve_status(seen, current)
    assert resolve_status(repeated, current) is resolve_status(seen, current)


@given(seen=statuses, current=st.none() | st.sampled_from([s for s in ALL if s is not S.UNKNOWN]))
def test_unknown_never_changes_the_outcome(seen: list[S], current: S | None) -> None:
    known = [s for s in seen if s is not S.UNKNOWN]
    assert resolve_status([*known, S.UNKNOWN], current) is resolve_status(known, current)


@given(seen=statuses, extra=st.sampled_from(PROGRESS))
def test_more_progress_never_lowers_the_rank(seen: list[S], extra: S) -> None:
    assert rank(resolve_status([*seen, extra])) >= rank(resolve_status(seen))


@given(seen=statuses)
def test_failed_shows_only_when_nothing_beyond_sent(seen: list[S]) -> None:
    result = resolve_status(seen)
    beyond_sent = any(rank(s) > rank(S.SENT) for s in seen)
    assert (result is S.FAILED) == (S.FAILED in seen and not beyond_sent)
    if beyond_sent:
        assert result is max(seen, key=rank)


@given(seen=statuses)
def test_resolving_again_with_the_result_is_stable(seen: list[S]) -> None:
    result = resolve_status(seen)
    assert resolve_status(seen, current=result) is result
