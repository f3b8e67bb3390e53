from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError

from centralino.bot.templating import sandbox


@pytest.mark.parametrize("source", ["{{ 'x' * 100000000 }}", "{{ 100000000 * 'x' }}", "{{ [1] * 10**8 }}",
                                    "{{ 10 ** 100000000 }}", "{{ ''.__class__.__mro__ }}"])
def test_huge_or_unsafe_expressions_are_refused(source: str) -> None:
    with pytest.raises(SecurityError):
        sandbox().from_string(source).render()


def test_ordinary_arithmetic_and_repetition_still_work() -> None:
    assert sandbox().from_string("{{ 2 * 3 }} {{ 2 ** 10 }} {{ '-' * 5 }} {{ x * 2 }}").render(x=1.5) == \
        "6 1024 ----- 3.0"
