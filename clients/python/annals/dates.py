"""Helpers between the ``YYYY[-MM[-DD]]`` notation of the CLI and the API's date messages."""
from __future__ import annotations

import re
from typing import Optional, Union

from annals.v1 import types_pb2

_DATE_RE = re.compile(r"^(-?\d{1,6})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")

DateLike = Union[str, int, types_pb2.Date]


def date(value: DateLike) -> types_pb2.Date:
    """A ``Date`` at the precision written: ``"2011"``, ``"2012-10"``, ``"2012-10-03"`` or 2011.

    The server validates the ranges (month 1..12, day within the month); this only parses.
    """
    if isinstance(value, types_pb2.Date):
        return value
    if isinstance(value, int):
        return types_pb2.Date(year=value)
    m = _DATE_RE.match(value.strip())
    if not m:
        raise ValueError(f"not a date (YYYY, YYYY-MM or YYYY-MM-DD): {value!r}")
    year, month, day = m.groups()
    return types_pb2.Date(year=int(year), month=int(month or 0), day=int(day or 0))


def window(start: Optional[DateLike] = None, end: Optional[DateLike] = None, *,
           certainly: bool = False) -> types_pb2.Window:
    """A read ``Window`` [start, end]; ``window("2011", "2011")`` is all of 2011.

    ``certainly=True`` keeps only what held on some day of the window whatever its exact
    dates (``CERTAINLY``); the default is ``POSSIBLY``.
    """
    w = types_pb2.Window(mode=types_pb2.CERTAINLY if certainly else types_pb2.POSSIBLY)
    if start is not None:
        w.start.CopyFrom(date(start))
    if end is not None:
        w.end.CopyFrom(date(end))
    return w


def format_date(d: types_pb2.Date) -> str:
    """``Date(year=2012, month=10)`` -> ``"2012-10"``."""
    text = f"{d.year:04d}" if d.year >= 0 else f"-{-d.year:04d}"
    if d.month:
        text += f"-{d.month:02d}"
        if d.day:
            text += f"-{d.day:02d}"
    return text


def _endpoint(r: types_pb2.TimeRange, side: str) -> str:
    if getattr(r, f"{side}_unknown"):
        return "?"
    text = format_date(getattr(r, side)) if r.HasField(side) else ""
    if r.HasField(f"{side}_latest"):
        text += "~" + format_date(getattr(r, f"{side}_latest"))
    return text


def format_range(r: types_pb2.TimeRange) -> str:
    """A ``TimeRange`` as the CLI prints it: ``"2011-05-11..2011-05-13"``, ``"2011.."``, ``"2012-10"``."""
    start, end = _endpoint(r, "start"), _endpoint(r, "end")
    if start and start == end:
        return start
    if not start and not end:
        return "always"
    return f"{start}..{end}"
