"""Walking a JSON request body with Meta's errors: each failure names the field (`text['body']`)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from centralino.simulator.errors import GraphError, invalid, missing, param, unexpected

Path = tuple[str | int, ...]


class Obj:
    """A JSON object at `path`; accessors raise 131008 (missing) / 131009 (invalid) / 100 (unexpected)."""

    def __init__(self, data: Any, path: Path) -> None:
        if not isinstance(data, dict):
            raise invalid(path, "must be a JSON object.")
        self.data: dict[str, Any] = data
        self.path = path

    def only(self, allowed: Collection[str]) -> Obj:
        for key in self.data:
            if key not in allowed:
                raise unexpected(key, *self.path) if self.path else unexpected(key)
        return self

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def obj(self, key: str, *, required: bool = True) -> Obj | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise missing(*self.path, key)
            return None
        return Obj(value, (*self.path, key))

    def need_obj(self, key: str) -> Obj:
        found = self.obj(key)
        assert found is not None
        return found

    def text(self, key: str, *, required: bool = False, max_len: int | None = None,
             allow_empty: bool = False) -> str | None:
        value = self.data.get(key)
        path = (*self.path, key)
        if value is None or (value == "" and not allow_empty):
            if required:
                raise missing(*path)
            return None if value is None else ""
        if not isinstance(value, str):
            raise invalid(path, "must be a string.")
        if max_len is not None and len(value) > max_len:
            raise invalid(path, f"must be at most {max_len} characters long.")
        return value

    def need_text(self, key: str, *, max_len: int | None = None) -> str:
        found = self.text(key, required=True, max_len=max_len)
        assert found is not None
        return found

    def number(self, key: str, *, low: float, high: float) -> float:
        value = self.data.get(key)
        path = (*self.path, key)
        if value is None:
            raise missing(*path)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise invalid(path, "must be a number.") from None
        if isinstance(value, bool) or not low <= number <= high:
            raise invalid(path, f"must be a number between {low:g} and {high:g}.")
        return number

    def boolean(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise invalid((*self.path, key), "must be a boolean.")
        return value

    def choice(self, key: str, options: Collection[str], *, required: bool = True) -> str | None:
        value = self.text(key, required=required)
        if value is not None and value not in options:
            raise invalid((*self.path, key), f"must be one of {{{', '.join(sorted(options))}}}.")
        return value

    def items(self, key: str, *, low: int = 1, high: int | None = None, required: bool = True) -> Iterator[Any]:
        value = self.data.get(key)
        path = (*self.path, key)
        if value is None:
            if required:
                raise missing(*path)
            return iter(())
        if not isinstance(value, list):
            raise invalid(path, "must be an array.")
        if len(value) < low or (high is not None and len(value) > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise invalid(path, f"must have {bound} elements.")
        return iter(value)

    def objects(self, key: str, *, low: int = 1, high: int | None = None, required: bool = True) -> list[Obj]:
        return [Obj(item, (*self.path, key, i))
                for i, item in enumerate(self.items(key, low=low, high=high, required=required))]

    def at(self, *more: str | int) -> str:
        return param((*self.path, *more))


def unique(values: list[str], path: Path, what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise GraphError(131009, f"Param {param(path)} must have unique {what}: '{value}' is repeated.")
        seen.add(value)
