"""The one exception the client raises for a failed call."""
from __future__ import annotations

import re
from typing import Optional

import grpc

# "relations[3].valid.start: month 13 out of range 1..12", 'entities[2].attributes["born"].date: ...'
_FIELD_RE = re.compile(r'^([a-z_][a-z0-9_]*(?:\[[^\]]*\]|\.[a-z_][a-z0-9_]*)*): (.*)$', re.DOTALL)


class AnnalsError(Exception):
    """A call that ended with a non-OK gRPC status.

    Attributes:
        code: the status code, e.g. ``grpc.StatusCode.INVALID_ARGUMENT``.
        details: the server's message, e.g. ``"entities[0].id: 'X1' is not a valid id ..."``.
        field: the field path the message starts with (``"entities[0].id"``), or ``None``.
        description: the message without its field path.
        trailing_metadata: the call's trailers, as (key, value) pairs.
    """

    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata=()) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details
        self.trailing_metadata = tuple(trailing_metadata or ())
        m = _FIELD_RE.match(details)
        self.field: Optional[str] = m.group(1) if m else None
        self.description: str = m.group(2) if m else details

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> "AnnalsError":
        """Wraps the ``grpc.RpcError`` raised by a generated stub."""
        code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        details = (error.details() if hasattr(error, "details") else None) or ""
        trailers = error.trailing_metadata() if hasattr(error, "trailing_metadata") else ()
        return cls(code or grpc.StatusCode.UNKNOWN, details, trailers)
