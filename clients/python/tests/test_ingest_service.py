"""IngestService through the client, each test on a fresh, empty server."""
from __future__ import annotations

import grpc
import pytest

import annals
from annals.v1 import ingest_pb2, types_pb2


def entity(id: str, label: str, kind: str = "person", **kw) -> types_pb2.Entity:
    return types_pb2.Entity(id=id, label=label, kind=kind, **kw)


def test_upsert_entities_then_unchanged_then_replaced(client: annals.Client) -> None:
    first = client.upsert_entities([entity("lovelace", "Ada Lovelace", aliases=["Augusta Ada King"]),
                                    entity("babbage", "Charles Babbage")])
    assert (first.revision, first.written_count, first.unchanged_count) == (1, 2, 0)
    assert [e.id for e in first.entities] == ["lovelace", "babbage"]
    assert all(e.revision == 1 for e in first.entities)

    # The same content again writes nothing and creates no revision.
    again = client.upsert_entities([entity("lovelace", "Ada Lovelace", aliases=["Augusta Ada King"])])
    assert (again.revision, again.written_count, again.unchanged_count) == (1, 0, 1)

    # Replaced whole: the alias left out is gone in revision 2, still there as of 1.
    replaced = client.upsert_entities([entity("lovelace", "Ada King")])
    assert (replaced.revision, replaced.written_count) == (2, 1)
    assert list(client.get_entity("lovelace").aliases) == []
    old = client.get_entity("lovelace", as_of_revision=1)
    assert (old.label, list(old.aliases), old.revision) == ("Ada Lovelace", ["Augusta Ada King"], 1)


def test_invalid_argument_names_the_field(client: annals.Client) -> None:
    with pytest.raises(annals.AnnalsError) as err:
        client.upsert_entities([entity("ok", "Fine"), entity("X1", "Bad id")])
    assert err.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.field == "entities[1].id"
    assert "'X1' is not a valid id" in err.value.description

    with pytest.raises(annals.AnnalsError) as err:
        client.put_relations([types_pb2.Relation(subject="ok", predicate="met", object_id="ok",
                                                  valid=types_pb2.TimeRange(start=annals.date("2012-13")))])
    assert err.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.field == "relations[0].valid.start"
    assert "month 13" in err.value.description
    # Nothing was committed by either call.
    with pytest.raises(annals.AnnalsError) as err:
        client.get_entity("ok")
    assert err.value.code is grpc.StatusCode.NOT_FOUND


def test_documents_relations_and_retraction(client: annals.Client) -> None:
    docs = client.put_documents([types_pb2.Document(id="doc-sketch-1843", title="Sketch of the Analytical Engine",
                                                    authors=["L. F. Menabrea"], published=annals.date(1843))])
    assert (docs.revision, docs.written_count) == (1, 1)
    assert docs.documents[0].published == types_pb2.Date(year=1843)

    client.upsert_entities([entity("lovelace", "Ada Lovelace"), entity("engine", "Analytical Engine", "project")])
    put = client.put_relations([
        types_pb2.Relation(id="rel.notes", subject="lovelace", predicate="wrote_notes_on", object_id="engine",
                           valid=types_pb2.TimeRange(start=annals.date("1842"), end=annals.date("1843-08")),
                           sources=[types_pb2.Source(document_id="doc-sketch-1843", begin=0, end=120)],
                           confidence=0.9),
        types_pb2.Relation(subject="lovelace", predicate="born", value=types_pb2.Value(date=annals.date("1815-12-10"))),
    ])
    assert (put.revision, put.written_count) == (3, 2)
    assert put.relations[0].id == "rel.notes"
    assert put.relations[1].id == "r1"  # the first server-assigned id
    assert annals.format_range(put.relations[0].valid) == "1842..1843-08"

    got = client.get_relation("rel.notes")
    assert (got.subject, got.predicate, got.object_id, got.revision) == ("lovelace", "wrote_notes_on", "engine", 3)
    assert got.confidence == pytest.approx(0.9)

    retracted = client.retract_relation("r1", reason="wrong claim", request_id="retract-r1")
    assert (retracted.retracted, retracted.retraction_reason, retracted.revision) == (True, "wrong claim", 4)
    # The same request id and payload replays the first answer instead of FAILED_PRECONDITION.
    assert client.retract_relation("r1", reason="wrong claim", request_id="retract-r1").revision == 4
    with pytest.raises(annals.AnnalsError) as err:
        client.retract_relation("r1", reason="wrong claim")
    assert err.value.code is grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(annals.AnnalsError) as err:
        client.get_relation("r1")
    assert err.value.code is grpc.StatusCode.NOT_FOUND
    assert client.get_relation("r1", show_retracted=True).retracted
    assert client.get_relation("r1", as_of_revision=3).retracted is False
    assert [r.id for r in client.list_relations(subject="lovelace")] == ["rel.notes"]


def test_request_id_replays_and_rejects_other_payloads(client: annals.Client) -> None:
    first = client.upsert_entities([entity("babbage", "Charles Babbage")], request_id="demo-1")
    again = client.upsert_entities([entity("babbage", "Charles Babbage")], request_id="demo-1")
    assert again.revision == first.revision == 1
    assert again.written_count == 1  # the first call's result, repeated
    with pytest.raises(annals.AnnalsError) as err:
        client.upsert_entities([entity("babbage", "C. Babbage")], request_id="demo-1")
    assert err.value.code is grpc.StatusCode.ALREADY_EXISTS
    assert err.value.field == "request_id"


def test_ingest_streams_acks_in_order(client: annals.Client) -> None:
    good = ingest_pb2.IngestRequest(
        request_id="batch-1",
        entities=[entity("menabrea", "Luigi Federico Menabrea"), entity("engine", "Analytical Engine", "project")],
        relations=[types_pb2.Relation(subject="menabrea", predicate="wrote", object_id="engine",
                                      valid=types_pb2.TimeRange(start=annals.date("1842-10"),
                                                                end=annals.date("1842-10")))])
    bad_shape = ingest_pb2.IngestRequest(relations=[
        types_pb2.Relation(subject="menabrea", predicate="met", object_id="engine",
                           valid=types_pb2.TimeRange(start=types_pb2.Date(year=1840, month=13))),
        types_pb2.Relation(subject="menabrea", predicate="met", object_id="nobody")])
    bad_ref = ingest_pb2.IngestRequest(relations=[
        types_pb2.Relation(subject="menabrea", predicate="met", object_id="nobody")])
    acks = list(client.ingest(iter([good, bad_shape, bad_ref, good])))

    assert [a.batch_index for a in acks] == [0, 1, 2, 3]
    assert (acks[0].revision, acks[0].entities_written, acks[0].relations_written) == (1, 2, 1)
    assert list(acks[0].relation_ids) == ["r1"] and not acks[0].errors and not acks[0].replayed
    # Shape errors are reported first; the missing entity only once the shape is fine.
    assert acks[1].revision == 0
    assert [(e.field, e.description) for e in acks[1].errors] == [
        ("relations[0].valid.start", "month 13 out of range 1..12")]
    assert acks[2].revision == 0
    assert [(e.field, e.description) for e in acks[2].errors] == [
        ("relations[0].object_id", "entity 'nobody' does not exist")]
    assert (acks[3].revision, list(acks[3].relation_ids), acks[3].replayed) == (1, ["r1"], True)
    assert client.get_relation("r1").predicate == "wrote"


def test_ingest_jsonl_files_twice_writes_once(client: annals.Client, tmp_path) -> None:
    data = tmp_path / "demo.jsonl"
    data.write_text(
        '{"entity": {"id": "somerville", "kind": "person", "label": "Mary Somerville"}}\n'
        '\n'
        '{"entity": {"id": "lovelace", "kind": "person", "label": "Ada Lovelace"}}\n'
        '{"relation": {"id": "rel.met", "subject": "somerville", "predicate": "met", "objectId": "lovelace",'
        ' "valid": {"start": {"year": 1834}, "end": {"year": 1834}}}}\n', encoding="utf-8")
    acks = list(client.ingest(annals.batches_from_files([data], batch_size=2)))
    assert [(a.revision, a.entities_written, a.relations_written, a.replayed) for a in acks] == [
        (1, 2, 0, False), (2, 0, 1, False)]
    acks = list(client.ingest(annals.batches_from_files([data], batch_size=2)))
    assert [(a.revision, a.replayed) for a in acks] == [(1, True), (2, True)]

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"entity": {"id": "x", "label": "X"}}\n{"relation": {"predicat": "x"}}\n', encoding="utf-8")
    with pytest.raises(annals.JsonlError) as err:
        list(annals.batches_from_files([bad]))
    assert (err.value.line, err.value.path) == (2, str(bad))


def test_merge_and_unmerge_entities(client: annals.Client) -> None:
    client.upsert_entities([entity("lovelace", "Ada Lovelace"), entity("ada", "Ada King"),
                            entity("engine", "Analytical Engine", "project")])
    client.put_relations([types_pb2.Relation(id="notes", subject="ada", predicate="wrote_notes_on",
                                             object_id="engine")])
    merged = client.merge_entities("lovelace", ["ada"], request_id="merge-ada")
    assert (merged.entity.id, list(merged.entity.merged_ids)) == ("lovelace", ["ada"])
    assert "Ada King" in merged.entity.aliases
    assert client.merge_entities("lovelace", ["ada"], request_id="merge-ada").revision == merged.revision
    redirected = client.get_entity("ada")
    assert (redirected.id, redirected.redirected_from) == ("lovelace", "ada")
    notes = client.get_relation("notes")
    assert (notes.subject, notes.written_subject) == ("lovelace", "ada")
    with pytest.raises(annals.AnnalsError) as err:
        client.merge_entities("ada", ["engine"])
    assert (err.value.code, err.value.field) == (grpc.StatusCode.FAILED_PRECONDITION, "survivor")
    with pytest.raises(annals.AnnalsError) as err:
        client.merge_entities("lovelace", ["lovelace"])
    assert (err.value.code, err.value.field) == (grpc.StatusCode.INVALID_ARGUMENT, "survivor")
    unmerged = client.unmerge_entity("ada")
    assert (unmerged.entity.id, unmerged.revision) == ("ada", merged.revision + 1)
    with pytest.raises(annals.AnnalsError) as err:
        client.unmerge_entity("ada")
    assert (err.value.code, err.value.field) == (grpc.StatusCode.FAILED_PRECONDITION, "id")


def test_delete_entity_and_document(client: annals.Client) -> None:
    client.upsert_entities([entity("lovelace", "Ada Lovelace"), entity("engine", "Analytical Engine", "project")])
    client.put_documents([types_pb2.Document(id="doc-a", title="A"), types_pb2.Document(id="doc-b", title="B")])
    client.put_relations([
        types_pb2.Relation(id="notes", subject="lovelace", predicate="wrote_notes_on", object_id="engine",
                           sources=[types_pb2.Source(document_id="doc-a", begin=0, end=5),
                                    types_pb2.Source(document_id="doc-b", begin=0, end=5)]),
        types_pb2.Relation(id="plan", subject="engine", predicate="planned_by", object_id="lovelace",
                           sources=[types_pb2.Source(document_id="doc-a", begin=0, end=5)]),
    ])
    before = client.get_entity("engine").revision
    with pytest.raises(annals.AnnalsError) as err:
        client.delete_document("doc-a")
    assert err.value.code is grpc.StatusCode.FAILED_PRECONDITION
    assert err.value.field == "id"
    assert "cited by 2 current relations" in err.value.description

    gone = client.delete_document("doc-a", cascade=True)
    assert (list(gone.retracted_relation_ids), list(gone.changed_relation_ids)) == (["plan"], ["notes"])
    assert [s.document_id for s in client.get_relation("notes").sources] == ["doc-b"]

    deleted = client.delete_entity("engine", cascade=True, request_id="del-engine")
    assert list(deleted.retracted_relation_ids) == ["notes"]
    # A retry with the same request id replays the answer.
    assert client.delete_entity("engine", cascade=True, request_id="del-engine").revision == deleted.revision
    with pytest.raises(annals.AnnalsError) as err:
        client.get_entity("engine")
    assert err.value.code is grpc.StatusCode.NOT_FOUND
    assert client.get_entity("engine", as_of_revision=before).label == "Analytical Engine"
    with pytest.raises(annals.AnnalsError) as err:
        client.delete_entity("engine")
    assert (err.value.code, err.value.field) == (grpc.StatusCode.NOT_FOUND, "id")
