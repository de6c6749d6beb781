"""DiffService through the client: revision diffs, valid-time diffs, history and watch."""
from __future__ import annotations

import threading

import grpc
import pytest

import annals
from annals.v1 import diff_pb2, types_pb2


def test_diff_revisions(seeded: annals.Client) -> None:
    # Revision 3 (the October 2012 article) postponed Putin's visit planned for 2012-09, and
    # added five more relations with putin as subject (met, supports_membership, proposed,
    # wrote_to, invited), in file order.
    changes = list(seeded.diff_revisions(2, 3, scope=annals.Scope(entity_id="putin")))
    assert [(c.id, diff_pb2.ChangeKind.Name(c.kind)) for c in changes] == [
        ("rel.putin-visit-pakistan-2012", "RELATION_CHANGED"),
        ("rel.putin-talks-zardari-2012-10.seed-002", "RELATION_ADDED"),
        ("rel.putin-endorsed-pakistan-sco-2012.seed-002", "RELATION_ADDED"),
        ("rel.putin-proposed-sco-energy-club.seed-002", "RELATION_ADDED"),
        ("rel.putin-letter-zardari-2012-10.seed-002", "RELATION_ADDED"),
        ("rel.putin-invited-zardari-2012-10.seed-002", "RELATION_ADDED")]
    assert [c.index for c in changes] == sorted(c.index for c in changes)
    changes = list(seeded.diff_revisions(2, 3, scope=annals.Scope(entity_id="putin", predicates=["visited"])))
    assert [(c.revision, diff_pb2.ChangeKind.Name(c.kind), c.id) for c in changes] == [
        (3, "RELATION_CHANGED", "rel.putin-visit-pakistan-2012")]
    before, after = changes[0].relation_before, changes[0].relation_after
    assert (before.status, annals.format_range(before.valid)) == (types_pb2.PLANNED, "2012-09")
    assert (after.status, annals.format_range(after.valid)) == (types_pb2.POSTPONED, "2012-10-03")
    with pytest.raises(annals.AnnalsError) as err:
        list(seeded.diff_revisions(0, 9))
    assert err.value.code is grpc.StatusCode.OUT_OF_RANGE
    with pytest.raises(annals.AnnalsError) as err:
        list(seeded.diff_revisions(scope=annals.Scope(between=["pakistan"])))
    assert err.value.code is grpc.StatusCode.INVALID_ARGUMENT and err.value.field == "scope.between"


def test_get_history_follows_pages(seeded: annals.Client) -> None:
    versions = list(seeded.get_history(relation_id="rel.putin-visit-pakistan-2012", page_size=1))
    assert [(v.revision, diff_pb2.ChangeKind.Name(v.kind)) for v in versions] == [
        (2, "RELATION_ADDED"), (3, "RELATION_CHANGED"), (4, "RELATION_CHANGED")]
    assert [v.relation.status for v in versions] == [types_pb2.PLANNED, types_pb2.POSTPONED, types_pb2.POSTPONED]
    assert len(list(seeded.get_history_pages(relation_id="rel.putin-visit-pakistan-2012", page_size=1))) == 3
    with pytest.raises(ValueError):
        seeded.get_history_pages(entity_id="putin", relation_id="x")
    with pytest.raises(annals.AnnalsError) as err:
        list(seeded.get_history(entity_id="nosuch"))
    assert err.value.code is grpc.StatusCode.NOT_FOUND


def test_diff_valid_times(client: annals.Client) -> None:
    client.upsert_entities([types_pb2.Entity(id="a", label="A"), types_pb2.Entity(id="b", label="B")])
    span = lambda s, e: types_pb2.TimeRange(start=annals.date(s), end=annals.date(e))  # noqa: E731
    client.put_relations([
        types_pb2.Relation(id="old", subject="a", predicate="allied_with", object_id="b", valid=span("2000", "2011")),
        types_pb2.Relation(id="new", subject="a", predicate="traded_with", object_id="b", valid=span("2012", "2014")),
        types_pb2.Relation(id="both", subject="b", predicate="member_of", object_id="a", valid=span("2005", "2015")),
    ])
    diff = client.diff_valid_times("2010", "2013", scope=annals.Scope(between=["a", "b"]), include_continued=True)
    assert ([r.id for r in diff.began], [r.id for r in diff.ended], [r.id for r in diff.continued]) == (
        ["new"], ["old"], ["both"])
    assert diff.revision == 2 and not diff.truncated


def test_watch_replays_then_follows(client: annals.Client) -> None:
    client.upsert_entities([types_pb2.Entity(id="a", label="A")])
    seen: list = []
    replayed = threading.Event()

    def follow() -> None:
        for change in client.watch(0, timeout=30):
            seen.append(change)
            replayed.set()
            if len(seen) == 2:
                return  # breaking off cancels the stream

    t = threading.Thread(target=follow)
    t.start()
    assert replayed.wait(10)
    client.upsert_entities([types_pb2.Entity(id="a", label="A2")])
    t.join(20)
    assert not t.is_alive()
    assert [(c.revision, diff_pb2.ChangeKind.Name(c.kind), c.id) for c in seen] == [
        (1, "ENTITY_CREATED", "a"), (2, "ENTITY_CHANGED", "a")]
    assert seen[1].entity_before.label == "A" and seen[1].entity_after.label == "A2"
    # Resuming with the first change's token gives exactly the second one.
    resumed = next(client.watch(resume_token=seen[0].resume_token, timeout=10))
    assert resumed.revision == 2 and resumed.resume_token == seen[1].resume_token


def test_watch_ends_with_its_deadline(client: annals.Client) -> None:
    with pytest.raises(annals.AnnalsError) as err:
        list(client.watch(0, timeout=0.5))
    assert err.value.code is grpc.StatusCode.DEADLINE_EXCEEDED
