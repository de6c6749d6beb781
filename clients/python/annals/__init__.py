"""Python client for Annals, the temporal knowledge-graph gRPC service (API ``annals.v1``).

    >>> import annals
    >>> with annals.connect("127.0.0.1:50051") as client:
    ...     for relation in client.list_relations(subject="zardari", predicate="visited"):
    ...         print(relation.id, annals.format_range(relation.valid))

The generated messages and stubs live in ``annals.v1`` (``types_pb2``, ``ingest_pb2``,
``query_pb2``, ``diff_pb2``, ``jsonl_pb2`` and the ``*_pb2_grpc`` modules). They are not
committed: the build writes them into ``<build>/clients/python/gen/annals/v1``, and this
package extends its ``__path__`` (pkgutil-style) so that ``annals.v1`` is found there when
that directory is on ``sys.path``.
"""
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)  # find annals/v1 in the generated tree too

try:
    from annals.v1 import types_pb2 as _types_probe  # noqa: F401
except ImportError as e:  # pragma: no cover - a setup problem, reported clearly
    raise ImportError(
        "annals: the generated modules annals.v1.*_pb2 are missing. Build them "
        "(`ninja -C build annals_python`) and put <build>/clients/python/gen on PYTHONPATH "
        "next to clients/python."
    ) from e

from annals.client import DEFAULT_TIMEOUT, NO_RETRY, Client, RetryPolicy, connect  # noqa: E402
from annals.dates import date, format_date, format_range, window  # noqa: E402
from annals.errors import AnnalsError  # noqa: E402
from annals.jsonl import JsonlError, batches_from_files, read_jsonl  # noqa: E402
from annals.v1.diff_pb2 import Change, Scope  # noqa: E402
from annals.v1.types_pb2 import Date, Document, Entity, Relation, Source, TimeRange, Value, Window  # noqa: E402

__all__ = [
    "AnnalsError", "Change", "Client", "DEFAULT_TIMEOUT", "Date", "Document", "Entity", "JsonlError", "NO_RETRY",
    "Relation", "RetryPolicy", "Scope", "Source", "TimeRange", "Value", "Window", "batches_from_files",
    "connect", "date", "format_date", "format_range", "read_jsonl", "window",
]
