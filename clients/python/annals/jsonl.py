"""Reading the JSON Lines interchange format (``annals.v1.JsonlRecord``, one per line)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Tuple, Union

from google.protobuf import json_format

from annals.v1 import ingest_pb2, jsonl_pb2

PathLike = Union[str, "os.PathLike[str]"]


class JsonlError(ValueError):
    """A line that is not a valid ``JsonlRecord``; ``path`` and ``line`` say where."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path, self.line, self.reason = path, line, reason


def _files(paths: Iterable[PathLike]) -> List[Path]:
    out: List[Path] = []
    for p in map(Path, paths):
        out.extend(sorted(p.glob("*.jsonl")) if p.is_dir() else [p])
    return out


def read_jsonl(path: PathLike) -> Iterator[Tuple[int, jsonl_pb2.JsonlRecord]]:
    """Yields ``(line_number, record)`` for each non-blank line of one file.

    Unknown fields are an error, as for ``annalsd --load``; raises :class:`JsonlError`.
    """
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            record = jsonl_pb2.JsonlRecord()
            try:
                json_format.Parse(line, record)
            except json_format.ParseError as e:
                raise JsonlError(str(path), number, str(e)) from e
            if not record.WhichOneof("record"):
                raise JsonlError(str(path), number, 'expected one of "entity", "document", "relation"')
            yield number, record


def _batch(records: List[jsonl_pb2.JsonlRecord], request_id_prefix: str) -> ingest_pb2.IngestRequest:
    batch = ingest_pb2.IngestRequest()
    for r in records:
        kind = r.WhichOneof("record")
        getattr(batch, {"entity": "entities", "document": "documents", "relation": "relations"}[kind]).append(
            getattr(r, kind))
    if request_id_prefix:
        digest = hashlib.sha256(batch.SerializeToString(deterministic=True)).hexdigest()[:32]
        batch.request_id = f"{request_id_prefix}-{digest}"
    return batch


def batches_from_files(paths: Iterable[PathLike], *, batch_size: Optional[int] = None,
                       request_id_prefix: str = "py-import") -> Iterator[ingest_pb2.IngestRequest]:
    """``IngestRequest`` batches for :meth:`annals.Client.ingest` from JSON Lines files.

    A directory stands for its ``*.jsonl`` files in name order. With ``batch_size`` None each
    file is one batch (as ``annalsd --load`` commits it); otherwise batches hold at most
    ``batch_size`` lines and never span two files. Each batch gets the request id
    ``<prefix>-<digest of its content>`` so that loading the same data again writes nothing
    twice (pass ``request_id_prefix=""`` for none). Raises :class:`JsonlError` on a bad line.
    """
    if batch_size is not None and not 1 <= batch_size <= 10_000:
        raise ValueError("batch_size must be in 1..10000")
    for path in _files(paths):
        pending: List[jsonl_pb2.JsonlRecord] = []
        for _, record in read_jsonl(path):
            pending.append(record)
            if batch_size is not None and len(pending) == batch_size:
                yield _batch(pending, request_id_prefix)
                pending = []
        if pending:
            yield _batch(pending, request_id_prefix)
