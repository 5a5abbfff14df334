"""Dataclass <-> JSON-compatible data, driven by type hints (for ``--state FILE``)."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from functools import cache
from typing import Any


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def to_jsonable(value: Any) -> Any:
    """Turn dataclasses, datetimes and containers into JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.metadata.get("persist", True)
        }
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def from_jsonable(tp: Any, data: Any) -> Any:
    """Rebuild a value of type ``tp`` from ``to_jsonable`` output."""
    if data is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        # Only "X | None" unions appear in the models; the first real type wins.
        return from_jsonable(options[0], data)
    if origin is list:
        (item_type,) = typing.get_args(tp)
        return [from_jsonable(item_type, item) for item in data]
    if origin is dict:
        _, value_type = typing.get_args(tp)
        return {key: from_jsonable(value_type, item) for key, item in data.items()}
    if tp is Any:
        return data
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        kwargs = {
            f.name: from_jsonable(hints[f.name], data[f.name])
            for f in dataclasses.fields(tp)
            if f.init and f.name in data
        }
        return tp(**kwargs)
    if tp is datetime:
        return datetime.fromisoformat(data)
    if tp is date:
        return date.fromisoformat(data)
    return data
