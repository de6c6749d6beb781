"""A thin, typed layer over the generated ``annals.v1`` stubs.

Every RPC of ``IngestService``, ``QueryService`` and ``DiffService`` has a method here that
takes keyword arguments (snake_case, as in the proto) and returns the generated messages.
Paged RPCs are iterators that follow ``next_page_token``; streaming RPCs are iterators too.

Deadlines: every call gets ``timeout`` seconds (the client's default, ``DEFAULT_TIMEOUT``, or
the call's own ``timeout=``; ``None`` means no deadline). The deadline covers the whole logical
call, retries and pauses included; a paged iterator gives each page its own deadline.
``ingest`` and ``watch`` have no deadline unless given one: they run as long as there is data.

Retries: only on ``UNAVAILABLE`` (the server is starting, or unreachable), with exponential
backoff and full jitter (:class:`RetryPolicy`). Reads are always retried. Writes are retried
only when they carry a ``request_id``: the server then answers a repeat with the first
result instead of writing twice. A write without one is sent once. ``ingest`` is never
retried (its batches are consumed as they are sent; re-run it with request ids instead);
``diff_revisions`` is retried only before its first change arrives, and ``watch`` resumes
after the last change it delivered, with that change's ``resume_token``.

Failures raise :class:`annals.AnnalsError` (code, details, and the field path of an
``INVALID_ARGUMENT``).
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, TypeVar, Union

import grpc

from annals.dates import DateLike, date
from annals.errors import AnnalsError
from annals.v1 import (diff_pb2, diff_pb2_grpc, ingest_pb2, ingest_pb2_grpc, query_pb2, query_pb2_grpc,
                       types_pb2)

DEFAULT_TIMEOUT = 30.0
"""Seconds a call may take unless the client or the call says otherwise."""

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # the server's limit each way

StatusLike = Union[int, str]  # types_pb2.ASSERTED or "ASSERTED"
DirectionLike = Union[int, str]  # query_pb2.OUT or "OUT"
Timeout = Any  # float seconds, None (no deadline) or the client's default when left out

_UNSET: Any = object()
_T = TypeVar("_T")


@dataclass(frozen=True)
class RetryPolicy:
    """How ``UNAVAILABLE`` is retried: up to ``max_attempts`` tries in all, pausing a random
    time in [0, min(max_backoff, initial_backoff * multiplier ** n)] before retry n + 1."""

    max_attempts: int = 5
    initial_backoff: float = 0.1
    max_backoff: float = 2.0
    multiplier: float = 2.0

    def pause(self, retry: int) -> float:
        """The pause in seconds before retry number ``retry`` (0 for the first retry)."""
        return random.uniform(0.0, min(self.max_backoff, self.initial_backoff * self.multiplier ** retry))


NO_RETRY = RetryPolicy(max_attempts=1)


def _status(value: StatusLike) -> int:
    return types_pb2.Status.Value(value) if isinstance(value, str) else int(value)


def _direction(value: DirectionLike) -> int:
    return query_pb2.Direction.Value(value) if isinstance(value, str) else int(value)


def _window_mode(value: Union[int, str]) -> int:
    return types_pb2.WindowMode.Value(value) if isinstance(value, str) else int(value)


class Client:
    """A connection to one Annals server. Thread-safe; close it (or use ``with``) when done.

    ``ingest_stub``, ``query_stub`` and ``diff_stub`` are the generated stubs, for what this
    layer does not cover (e.g. reading the ``annals-revision`` trailer with ``.with_call``).
    """

    def __init__(self, channel: grpc.Channel, *, timeout: Optional[float] = DEFAULT_TIMEOUT,
                 retry: RetryPolicy = RetryPolicy(), metadata: Sequence[tuple[str, str]] = ()) -> None:
        self._channel = channel
        self.timeout = timeout
        self.retry = retry
        self.metadata = tuple(metadata)
        self.ingest_stub = ingest_pb2_grpc.IngestServiceStub(channel)
        self.query_stub = query_pb2_grpc.QueryServiceStub(channel)
        self.diff_stub = diff_pb2_grpc.DiffServiceStub(channel)

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the channel; calls in flight are cancelled."""
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------

    def _deadline(self, timeout: Timeout) -> Optional[float]:
        seconds = self.timeout if timeout is _UNSET else timeout
        return None if seconds is None else time.monotonic() + seconds

    @staticmethod
    def _remaining(deadline: Optional[float]) -> Optional[float]:
        return None if deadline is None else max(0.0, deadline - time.monotonic())

    def _retry_pause(self, error: grpc.RpcError, retry: int, attempts: int, deadline: Optional[float]) -> float:
        """The pause before the next try, or raises when ``error`` must not be retried."""
        if error.code() != grpc.StatusCode.UNAVAILABLE or retry + 1 >= attempts:
            raise AnnalsError.from_rpc_error(error) from error
        pause = self.retry.pause(retry)
        if deadline is not None and time.monotonic() + pause >= deadline:
            raise AnnalsError.from_rpc_error(error) from error
        return pause

    def _unary(self, method: Callable[..., _T], request: Any, timeout: Timeout, retryable: bool = True) -> _T:
        deadline = self._deadline(timeout)
        attempts = max(1, self.retry.max_attempts) if retryable else 1
        retry = 0
        while True:
            try:
                return method(request, timeout=self._remaining(deadline), metadata=self.metadata)
            except grpc.RpcError as e:
                time.sleep(self._retry_pause(e, retry, attempts, deadline))
                retry += 1

    def _pages(self, method: Callable[..., Any], request: Any, timeout: Timeout) -> Iterator[Any]:
        while True:
            page = self._unary(method, request, timeout)
            yield page
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token

    def _server_stream(self, method: Callable[..., Any], request: Any, timeout: Timeout) -> Iterator[Any]:
        """Retried on UNAVAILABLE only while nothing has been received."""
        deadline = self._deadline(timeout)
        attempts = max(1, self.retry.max_attempts)
        retry = 0
        while True:
            call = method(request, timeout=self._remaining(deadline), metadata=self.metadata)
            received = False
            try:
                for message in call:
                    received = True
                    yield message
                return
            except grpc.RpcError as e:
                if received:
                    raise AnnalsError.from_rpc_error(e) from e
                time.sleep(self._retry_pause(e, retry, attempts, deadline))
                retry += 1
            finally:
                call.cancel()  # no-op when the stream ended; stops it when the caller broke off

    # -- IngestService ---------------------------------------------------------------------

    def upsert_entities(self, entities: Iterable[types_pb2.Entity], *, request_id: str = "",
                        timeout: Timeout = _UNSET) -> ingest_pb2.UpsertEntitiesResponse:
        """Creates or replaces each entity whole; identical ones are counted as unchanged.

        Retried on UNAVAILABLE only when ``request_id`` is set.
        """
        request = ingest_pb2.UpsertEntitiesRequest(entities=list(entities), request_id=request_id)
        return self._unary(self.ingest_stub.UpsertEntities, request, timeout, retryable=bool(request_id))

    def put_documents(self, documents: Iterable[types_pb2.Document], *, request_id: str = "",
                      timeout: Timeout = _UNSET) -> ingest_pb2.PutDocumentsResponse:
        """Creates or replaces each source document whole, like :meth:`upsert_entities`."""
        request = ingest_pb2.PutDocumentsRequest(documents=list(documents), request_id=request_id)
        return self._unary(self.ingest_stub.PutDocuments, request, timeout, retryable=bool(request_id))

    def put_relations(self, relations: Iterable[types_pb2.Relation], *, request_id: str = "",
                      timeout: Timeout = _UNSET) -> ingest_pb2.PutRelationsResponse:
        """Adds relations; an existing id gets a new version. Without an id (and without a
        ``request_id``) every call records a new claim, so such writes are never retried."""
        request = ingest_pb2.PutRelationsRequest(relations=list(relations), request_id=request_id)
        return self._unary(self.ingest_stub.PutRelations, request, timeout, retryable=bool(request_id))

    def retract_relation(self, id: str, *, reason: str = "", request_id: str = "",
                         timeout: Timeout = _UNSET) -> types_pb2.Relation:
        """Retracts a relation and returns the retracted version (``retracted`` is true)."""
        request = ingest_pb2.RetractRelationRequest(id=id, reason=reason, request_id=request_id)
        return self._unary(self.ingest_stub.RetractRelation, request, timeout, retryable=bool(request_id))

    def delete_entity(self, id: str, *, cascade: bool = False, request_id: str = "",
                      timeout: Timeout = _UNSET) -> ingest_pb2.DeleteResponse:
        """Deletes an entity (a tombstone: reads as of earlier revisions still see it).
        FAILED_PRECONDITION while relations name it, unless ``cascade`` retracts them in
        the same revision; the response lists them."""
        request = ingest_pb2.DeleteEntityRequest(id=id, cascade=cascade, request_id=request_id)
        return self._unary(self.ingest_stub.DeleteEntity, request, timeout, retryable=bool(request_id))

    def merge_entities(self, survivor: str, ids: Sequence[str], *, request_id: str = "",
                       timeout: Timeout = _UNSET) -> ingest_pb2.MergeResponse:
        """Merges ``ids`` into ``survivor`` in one revision: from then on reads resolve each
        of them to it (their relations appear under it, their names find it). The response
        holds the survivor as read at that revision, with ``merged_ids``."""
        request = ingest_pb2.MergeEntitiesRequest(survivor=survivor, ids=list(ids), request_id=request_id)
        return self._unary(self.ingest_stub.MergeEntities, request, timeout, retryable=bool(request_id))

    def unmerge_entity(self, id: str, *, request_id: str = "",
                       timeout: Timeout = _UNSET) -> ingest_pb2.MergeResponse:
        """Undoes the merge of one entity, as a new revision: it is itself again."""
        request = ingest_pb2.UnmergeEntityRequest(id=id, request_id=request_id)
        return self._unary(self.ingest_stub.UnmergeEntity, request, timeout, retryable=bool(request_id))

    def delete_document(self, id: str, *, cascade: bool = False, request_id: str = "",
                        timeout: Timeout = _UNSET) -> ingest_pb2.DeleteResponse:
        """Deletes a document. FAILED_PRECONDITION while relations cite it, unless
        ``cascade`` takes it out of their sources (retracting those it alone supported)."""
        request = ingest_pb2.DeleteDocumentRequest(id=id, cascade=cascade, request_id=request_id)
        return self._unary(self.ingest_stub.DeleteDocument, request, timeout, retryable=bool(request_id))

    def ingest(self, batches: Iterable[ingest_pb2.IngestRequest], *,
               timeout: Optional[float] = None) -> Iterator[ingest_pb2.IngestResponse]:
        """Streams batches through one ``Ingest`` call and yields one ack per batch, in order.

        ``batches`` is consumed lazily as the server takes them (it reads the next batch only
        after acknowledging the previous one). A rejected batch is an ack with ``errors``, not
        an exception; the stream goes on. No deadline by default; never retried (give each
        batch a ``request_id``, as :func:`annals.batches_from_files` does, and run it again).
        Stopping the iteration early cancels the call.
        """
        call = self.ingest_stub.Ingest(iter(batches), timeout=timeout, metadata=self.metadata)
        try:
            yield from call
        except grpc.RpcError as e:
            raise AnnalsError.from_rpc_error(e) from e
        finally:
            call.cancel()

    # -- QueryService ----------------------------------------------------------------------

    def get_entity(self, id: str, *, as_of_revision: int = 0, timeout: Timeout = _UNSET) -> types_pb2.Entity:
        """The entity's version current at ``as_of_revision`` (0: the latest)."""
        request = query_pb2.GetEntityRequest(id=id, as_of_revision=as_of_revision)
        return self._unary(self.query_stub.GetEntity, request, timeout)

    def batch_get_entities(self, ids: Iterable[str], *, as_of_revision: int = 0,
                           timeout: Timeout = _UNSET) -> query_pb2.BatchGetEntitiesResponse:
        """Several entities at one revision, in request order; NOT_FOUND if any is missing."""
        request = query_pb2.BatchGetEntitiesRequest(ids=list(ids), as_of_revision=as_of_revision)
        return self._unary(self.query_stub.BatchGetEntities, request, timeout)

    def search_entities_pages(self, query: str, *, kind: str = "", page_size: int = 0, as_of_revision: int = 0,
                              timeout: Timeout = _UNSET) -> Iterator[query_pb2.SearchEntitiesResponse]:
        """Every page of a search (each response carries the ``revision`` answered at)."""
        request = query_pb2.SearchEntitiesRequest(query=query, kind=kind, page_size=page_size,
                                                  as_of_revision=as_of_revision)
        return self._pages(self.query_stub.SearchEntities, request, timeout)

    def search_entities(self, query: str, *, kind: str = "", page_size: int = 0, as_of_revision: int = 0,
                        timeout: Timeout = _UNSET) -> Iterator[types_pb2.Entity]:
        """Entities whose label or an alias has words starting with ``query`` (case and accents
        folded), across all pages; every page reads the snapshot of the first."""
        for page in self.search_entities_pages(query, kind=kind, page_size=page_size,
                                               as_of_revision=as_of_revision, timeout=timeout):
            yield from page.entities

    def get_relation(self, id: str, *, as_of_revision: int = 0, show_retracted: bool = False,
                     timeout: Timeout = _UNSET) -> types_pb2.Relation:
        """The relation's version current at ``as_of_revision``."""
        request = query_pb2.GetRelationRequest(id=id, as_of_revision=as_of_revision, show_retracted=show_retracted)
        return self._unary(self.query_stub.GetRelation, request, timeout)

    def list_relations_pages(self, *, subject: str = "", predicate: str = "", object_id: str = "",
                             document_id: str = "", statuses: Iterable[StatusLike] = (),
                             window: Optional[types_pb2.Window] = None, as_of_revision: int = 0,
                             page_size: int = 0,
                             timeout: Timeout = _UNSET) -> Iterator[query_pb2.ListRelationsResponse]:
        """Every page of a relation listing; see :meth:`list_relations`."""
        request = query_pb2.ListRelationsRequest(
            subject=subject, predicate=predicate, object_id=object_id, document_id=document_id,
            statuses=[_status(s) for s in statuses], window=window, as_of_revision=as_of_revision,
            page_size=page_size)
        return self._pages(self.query_stub.ListRelations, request, timeout)

    def list_relations(self, *, subject: str = "", predicate: str = "", object_id: str = "",
                       document_id: str = "", statuses: Iterable[StatusLike] = (),
                       window: Optional[types_pb2.Window] = None, as_of_revision: int = 0,
                       page_size: int = 0, timeout: Timeout = _UNSET) -> Iterator[types_pb2.Relation]:
        """The relations matching every filter given, across all pages.

        ``statuses`` empty means ASSERTED only; ``window`` is e.g. ``annals.window("2011")``.
        """
        for page in self.list_relations_pages(subject=subject, predicate=predicate, object_id=object_id,
                                              document_id=document_id, statuses=statuses, window=window,
                                              as_of_revision=as_of_revision, page_size=page_size,
                                              timeout=timeout):
            yield from page.relations

    def neighbors(self, entity_id: str, *, direction: DirectionLike = query_pb2.DIRECTION_UNSPECIFIED,
                  predicates: Iterable[str] = (), window: Optional[types_pb2.Window] = None,
                  statuses: Iterable[StatusLike] = (), as_of_revision: int = 0, limit: int = 0,
                  timeout: Timeout = _UNSET) -> query_pb2.NeighborsResponse:
        """The relations touching ``entity_id`` with the entity at their other end (not paged:
        up to ``limit``, and ``truncated`` says whether more matched)."""
        request = query_pb2.NeighborsRequest(
            entity_id=entity_id, direction=_direction(direction), predicates=list(predicates), window=window,
            statuses=[_status(s) for s in statuses], as_of_revision=as_of_revision, limit=limit)
        return self._unary(self.query_stub.Neighbors, request, timeout)

    # -- DiffService -----------------------------------------------------------------------

    def diff_revisions(self, from_revision: int = 0, to_revision: int = 0, *,
                       scope: Optional[diff_pb2.Scope] = None,
                       timeout: Timeout = _UNSET) -> Iterator[diff_pb2.Change]:
        """The changes committed in (``from_revision``, ``to_revision``], in commit order
        (``to_revision`` 0: the latest). The deadline covers the whole stream."""
        request = diff_pb2.DiffRevisionsRequest(from_revision=from_revision, to_revision=to_revision, scope=scope)
        return self._server_stream(self.diff_stub.DiffRevisions, request, timeout)

    def diff_valid_times(self, at_a: DateLike, at_b: DateLike, *, scope: Optional[diff_pb2.Scope] = None,
                         mode: Union[int, str] = types_pb2.WINDOW_MODE_UNSPECIFIED, as_of_revision: int = 0,
                         include_continued: bool = False, statuses: Iterable[StatusLike] = (),
                         timeout: Timeout = _UNSET) -> diff_pb2.DiffValidTimesResponse:
        """The relations that began (held at ``at_b``, not at ``at_a``), ended, and with
        ``include_continued`` held at both; dates like ``"2010"`` or ``annals.date(...)``."""
        request = diff_pb2.DiffValidTimesRequest(
            at_a=date(at_a), at_b=date(at_b), scope=scope, mode=_window_mode(mode), as_of_revision=as_of_revision,
            include_continued=include_continued, statuses=[_status(s) for s in statuses])
        return self._unary(self.diff_stub.DiffValidTimes, request, timeout)

    def watch(self, from_revision: int = 0, *, resume_token: str = "", scope: Optional[diff_pb2.Scope] = None,
              timeout: Optional[float] = None) -> Iterator[diff_pb2.Change]:
        """Replays the changes after ``from_revision`` (or after ``resume_token``), then
        follows new commits; the iterator does not end on its own (break out of it, or give
        a ``timeout``). On ``UNAVAILABLE`` it reconnects with the token of the last change
        delivered, so nothing is missed or repeated, up to the retry policy's attempts in a
        row."""
        request = diff_pb2.WatchRequest(from_revision=from_revision, resume_token=resume_token, scope=scope)
        deadline = self._deadline(timeout)
        attempts = max(1, self.retry.max_attempts)
        retry = 0
        while True:
            call = self.diff_stub.Watch(request, timeout=self._remaining(deadline), metadata=self.metadata)
            try:
                for change in call:
                    retry = 0
                    request = diff_pb2.WatchRequest(resume_token=change.resume_token, scope=scope)
                    yield change
                return
            except grpc.RpcError as e:
                time.sleep(self._retry_pause(e, retry, attempts, deadline))
                retry += 1
            finally:
                call.cancel()

    def get_history_pages(self, *, entity_id: str = "", relation_id: str = "", document_id: str = "",
                          page_size: int = 0,
                          timeout: Timeout = _UNSET) -> Iterator[diff_pb2.GetHistoryResponse]:
        """Every page of one record's history; see :meth:`get_history`."""
        targets = {k: v for k, v in (("entity_id", entity_id), ("relation_id", relation_id),
                                     ("document_id", document_id)) if v}
        if len(targets) != 1:
            raise ValueError("give exactly one of entity_id, relation_id, document_id")
        request = diff_pb2.GetHistoryRequest(page_size=page_size, **targets)
        return self._pages(self.diff_stub.GetHistory, request, timeout)

    def get_history(self, *, entity_id: str = "", relation_id: str = "", document_id: str = "",
                    page_size: int = 0, timeout: Timeout = _UNSET) -> Iterator[diff_pb2.Version]:
        """Every version of one entity, relation or document, oldest first, across pages."""
        for page in self.get_history_pages(entity_id=entity_id, relation_id=relation_id, document_id=document_id,
                                           page_size=page_size, timeout=timeout):
            yield from page.versions


def connect(addr: str, *, timeout: Optional[float] = DEFAULT_TIMEOUT, retry: RetryPolicy = RetryPolicy(),
            credentials: Optional[grpc.ChannelCredentials] = None,
            options: Sequence[tuple[str, Any]] = (),
            metadata: Sequence[tuple[str, str]] = ()) -> Client:
    """A :class:`Client` for the server at ``addr`` (``"host:port"``).

    Plaintext unless ``credentials`` are given. ``timeout`` is the default deadline of each
    call in seconds (None: none); ``retry`` how ``UNAVAILABLE`` is retried (``NO_RETRY``
    to turn it off); ``options`` extra gRPC channel options; ``metadata`` sent with every call.
    The connection is made lazily, on the first call.
    """
    channel_options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                       ("grpc.max_send_message_length", MAX_MESSAGE_BYTES), *options]
    channel = (grpc.secure_channel(addr, credentials, options=channel_options) if credentials is not None
               else grpc.insecure_channel(addr, options=channel_options))
    return Client(channel, timeout=timeout, retry=retry, metadata=metadata)
