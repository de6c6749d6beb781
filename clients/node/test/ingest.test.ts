// IngestService, DiffService's valid-time diff and watch, and the client's retries and
// deadline, each test on a fresh, empty server.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';

import { AnnalsClient, AnnalsError, type Change, type IngestRequest, connect, date, formatRange } from '../src';
import { Server, freePort } from '../testing/server';

let server: Server;
let client: AnnalsClient;
beforeEach(async () => {
  server = await new Server().start();
  client = connect(server.addr);
});
afterEach(async () => {
  client.close();
  assert.deepEqual(await server.stop(), []);
});

async function rejectsWith(p: Promise<unknown>, code: grpc.status, field?: string): Promise<AnnalsError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AnnalsError, `not an AnnalsError: ${err}`);
    assert.equal(err.codeName, grpc.status[code], err.message);
    if (field !== undefined) assert.equal(err.field, field, err.message);
    return err;
  }
  assert.fail(`expected ${grpc.status[code]}`);
}

test('upsertEntities, putDocuments, putRelations, retractRelation', async () => {
  const first = await client.upsertEntities([
    { id: 'lovelace', kind: 'person', label: 'Ada Lovelace', aliases: ['Augusta Ada King'] },
    { id: 'engine', kind: 'project', label: 'Analytical Engine' }]);
  assert.deepEqual([first.revision, first.writtenCount, first.unchangedCount], [1, 2, 0]);
  const again = await client.upsertEntities([{ id: 'engine', kind: 'project', label: 'Analytical Engine' }]);
  assert.deepEqual([again.revision, again.writtenCount, again.unchangedCount], [1, 0, 1]);

  const docs = await client.putDocuments([{ id: 'doc-sketch-1843', title: 'Sketch', published: date(1843) }]);
  assert.deepEqual([docs.revision, docs.documents[0].published], [2, { year: 1843, month: 0, day: 0 }]);

  const put = await client.putRelations([
    { id: 'rel.notes', subject: 'lovelace', predicate: 'wrote_notes_on', objectId: 'engine',
      valid: { start: date('1842'), end: date('1843-08') },
      sources: [{ documentId: 'doc-sketch-1843', begin: 0, end: 120 }], confidence: 0.5 },
    { subject: 'lovelace', predicate: 'born', value: { date: date('1815-12-10') } }]);
  assert.deepEqual([put.revision, put.writtenCount, put.relations.map((r) => r.id)], [3, 2, ['rel.notes', 'r1']]);
  assert.equal(formatRange(put.relations[0].valid), '1842..1843-08');
  assert.equal(put.relations[1].object, 'value');
  assert.equal(put.relations[0].confidence, 0.5);

  const retracted = await client.retractRelation('r1', { reason: 'wrong', requestId: 'retract-r1' });
  assert.deepEqual([retracted.retracted, retracted.retractionReason, retracted.revision], [true, 'wrong', 4]);
  assert.equal((await client.retractRelation('r1', { reason: 'wrong', requestId: 'retract-r1' })).revision, 4);
  await rejectsWith(client.retractRelation('r1', { reason: 'wrong' }), grpc.status.FAILED_PRECONDITION);
  await rejectsWith(client.getRelation('r1'), grpc.status.NOT_FOUND);
  assert.equal((await client.getRelation('r1', { showRetracted: true })).retracted, true);
});

test('deleteEntity and deleteDocument, refused while referenced, cascading on request', async () => {
  await client.upsertEntities([{ id: 'lovelace', label: 'Ada Lovelace' }, { id: 'engine', label: 'Analytical Engine' }]);
  await client.putDocuments([{ id: 'doc-a', title: 'A' }, { id: 'doc-b', title: 'B' }]);
  await client.putRelations([
    { id: 'notes', subject: 'lovelace', predicate: 'wrote_notes_on', objectId: 'engine',
      sources: [{ documentId: 'doc-a', begin: 0, end: 5 }, { documentId: 'doc-b', begin: 0, end: 5 }] },
    { id: 'plan', subject: 'engine', predicate: 'planned_by', objectId: 'lovelace',
      sources: [{ documentId: 'doc-a', begin: 0, end: 5 }] }]);
  const before = (await client.getEntity('engine')).revision;
  const refused = await rejectsWith(client.deleteDocument('doc-a'), grpc.status.FAILED_PRECONDITION, 'id');
  assert.match(refused.description, /cited by 2 current relations/);
  const gone = await client.deleteDocument('doc-a', { cascade: true });
  assert.deepEqual([gone.retractedRelationIds, gone.changedRelationIds], [['plan'], ['notes']]);
  assert.deepEqual((await client.getRelation('notes')).sources.map((s) => s.documentId), ['doc-b']);
  const deleted = await client.deleteEntity('engine', { cascade: true });
  assert.deepEqual(deleted.retractedRelationIds, ['notes']);
  await rejectsWith(client.getEntity('engine'), grpc.status.NOT_FOUND);
  assert.equal((await client.getEntity('engine', { asOfRevision: before })).label, 'Analytical Engine');
  await rejectsWith(client.deleteEntity('engine'), grpc.status.NOT_FOUND, 'id');
});

test('mergeEntities and unmergeEntity: reads resolve the merged id until the unmerge', async () => {
  await client.upsertEntities([{ id: 'lovelace', label: 'Ada Lovelace' }, { id: 'ada', label: 'Ada King' }]);
  const merged = await client.mergeEntities('lovelace', ['ada']);
  assert.deepEqual([merged.entity?.id, merged.entity?.mergedIds], ['lovelace', ['ada']]);
  const redirected = await client.getEntity('ada');
  assert.deepEqual([redirected.id, redirected.redirectedFrom], ['lovelace', 'ada']);
  await rejectsWith(client.mergeEntities('ada', ['lovelace']), grpc.status.FAILED_PRECONDITION, 'survivor');
  const unmerged = await client.unmergeEntity('ada');
  assert.deepEqual([unmerged.entity?.id, unmerged.revision], ['ada', merged.revision + 1]);
  await rejectsWith(client.unmergeEntity('ada'), grpc.status.FAILED_PRECONDITION, 'id');
});

test('INVALID_ARGUMENT and ALREADY_EXISTS name the field', async () => {
  const bad = await rejectsWith(client.upsertEntities([{ id: 'ok', label: 'Fine' }, { id: 'X1', label: 'Bad' }]),
    grpc.status.INVALID_ARGUMENT, 'entities[1].id');
  assert.match(bad.description, /'X1' is not a valid id/);
  await client.upsertEntities([{ id: 'babbage', label: 'Charles Babbage' }], { requestId: 'demo-1' });
  const replay = await client.upsertEntities([{ id: 'babbage', label: 'Charles Babbage' }], { requestId: 'demo-1' });
  assert.deepEqual([replay.revision, replay.writtenCount], [1, 1]);
  await rejectsWith(client.upsertEntities([{ id: 'babbage', label: 'C. B.' }], { requestId: 'demo-1' }),
    grpc.status.ALREADY_EXISTS, 'request_id');
});

test('ingest streams one ack per batch, in order, from an async iterable', async () => {
  const good: IngestRequest = {
    requestId: 'batch-1',
    entities: [{ id: 'menabrea', label: 'Luigi Federico Menabrea' }, { id: 'engine', label: 'Analytical Engine' }],
    relations: [{ subject: 'menabrea', predicate: 'wrote', objectId: 'engine',
      valid: { start: date('1842-10'), end: date('1842-10') } }],
  };
  async function* batches(): AsyncGenerator<IngestRequest> {
    yield good;
    yield { relations: [{ subject: 'menabrea', predicate: 'met', objectId: 'engine', valid: { start: { year: 1840, month: 13 } } }] };
    yield { relations: [{ subject: 'menabrea', predicate: 'met', objectId: 'nobody' }] };
    yield good;
  }
  const acks = [];
  for await (const ack of client.ingest(batches())) acks.push(ack);
  assert.deepEqual(acks.map((a) => [a.batchIndex, a.revision, a.replayed]), [[0, 1, false], [1, 0, false], [2, 0, false], [3, 1, true]]);
  assert.deepEqual(acks[0].relationIds, ['r1']);
  assert.deepEqual(acks[1].errors.map((e) => [e.field, e.description]), [['relations[0].valid.start', 'month 13 out of range 1..12']]);
  assert.deepEqual(acks[2].errors.map((e) => [e.field, e.description]), [['relations[0].object_id', "entity 'nobody' does not exist"]]);
});

test('diffValidTimes', async () => {
  await client.upsertEntities([{ id: 'a', label: 'A' }, { id: 'b', label: 'B' }]);
  const span = (s: string, e: string) => ({ start: date(s), end: date(e) });
  await client.putRelations([
    { id: 'old', subject: 'a', predicate: 'allied_with', objectId: 'b', valid: span('2000', '2011') },
    { id: 'new', subject: 'a', predicate: 'traded_with', objectId: 'b', valid: span('2012', '2014') },
    { id: 'both', subject: 'b', predicate: 'member_of', objectId: 'a', valid: span('2005', '2015') }]);
  const diff = await client.diffValidTimes('2010', '2013', { scope: { between: ['a', 'b'] }, includeContinued: true });
  assert.deepEqual([diff.began, diff.ended, diff.continued].map((rs) => rs.map((r) => r.id)), [['new'], ['old'], ['both']]);
});

test('watch replays, follows new commits and resumes from a token', async () => {
  await client.upsertEntities([{ id: 'a', label: 'A' }]);
  const seen: Change[] = [];
  for await (const change of client.watch(0, { timeoutMs: 30_000 })) {
    seen.push(change);
    if (seen.length === 1) await client.upsertEntities([{ id: 'a', label: 'A2' }]);
    if (seen.length === 2) break; // cancels the stream
  }
  assert.deepEqual(seen.map((c) => [c.revision, c.kind, c.id]), [[1, 'ENTITY_CREATED', 'a'], [2, 'ENTITY_CHANGED', 'a']]);
  assert.equal(seen[1].entityAfter!.label, 'A2');
  const resumed = client.watch(0, { resumeToken: seen[0].resumeToken, timeoutMs: 10_000 });
  const next = await resumed.next();
  await resumed.return(undefined);
  assert.equal((next.value as Change).resumeToken, seen[1].resumeToken);
  await rejectsWith((async () => { for await (const _ of client.watch(0, { timeoutMs: 300 })) { /* replay */ } })(),
    grpc.status.DEADLINE_EXCEEDED);
});

test('the default deadline applies, and a call can lift it', async () => {
  const hasty = connect(server.addr, { timeoutMs: 0.001 });
  try {
    await rejectsWith(hasty.getEntity('a'), grpc.status.DEADLINE_EXCEEDED);
    await rejectsWith(hasty.getEntity('a', { timeoutMs: null }), grpc.status.NOT_FOUND);
  } finally {
    hasty.close();
  }
});

test('UNAVAILABLE is retried for reads and for writes with a requestId only', async () => {
  const calls: Record<string, number> = {};
  const counter: grpc.Interceptor = (options, next) => {
    const name = options.method_definition.path.split('/').pop()!;
    calls[name] = (calls[name] ?? 0) + 1;
    return new grpc.InterceptingCall(next(options));
  };
  const dead = connect(`127.0.0.1:${await freePort()}`, {
    retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 20 }, interceptors: [counter], timeoutMs: 10_000,
  });
  try {
    await rejectsWith(dead.getEntity('a'), grpc.status.UNAVAILABLE);
    await rejectsWith(dead.upsertEntities([{ id: 'a', label: 'A' }], { requestId: 'once' }), grpc.status.UNAVAILABLE);
    await rejectsWith(dead.upsertEntities([{ id: 'a', label: 'A' }]), grpc.status.UNAVAILABLE);
  } finally {
    dead.close();
  }
  assert.deepEqual(calls, { GetEntity: 3, UpsertEntities: 4 });
});
