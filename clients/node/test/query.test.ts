// QueryService and DiffService through the client, against data/seed (revisions 1..5).
// Expectations are read off the seed files by hand: zardari is the subject of ten ASSERTED
// relations (four `visited`, three `met`, one each of `invited`, `participated_in`,
// `announced_visit`).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';

import { AnnalsClient, AnnalsError, connect, formatRange, window } from '../src';
import { SEED, Server } from '../testing/server';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

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

describe('against data/seed', () => {
  const server = new Server({ load: SEED });
  let client: AnnalsClient;
  before(async () => {
    await server.start();
    client = connect(server.addr);
  });
  after(async () => {
    client?.close();
    assert.deepEqual(await server.stop(), []);
  });

  test('the seed is loaded as revisions 1..5', () => {
    assert.equal(server.startRevision, 5);
  });

  test('getEntity, at the latest revision and as of an earlier one', async () => {
    const kayani = await client.getEntity('kayani');
    assert.equal(kayani.label, 'Ashfaq Parvez Kayani');
    assert.deepEqual(kayani.aliases, ['Ashfaq Pervez Kayani', 'General Kayani', 'Ashfaq Pervez Kiani', 'Kiani']);
    assert.equal(kayani.revision, 3);
    await rejectsWith(client.getEntity('kayani', { asOfRevision: 2 }), grpc.status.NOT_FOUND, 'id');
    await rejectsWith(client.getEntity('kayani', { asOfRevision: 6 }), grpc.status.OUT_OF_RANGE);
  });

  test('INVALID_ARGUMENT names the field', async () => {
    const err = await rejectsWith(client.getEntity('X1'), grpc.status.INVALID_ARGUMENT, 'id');
    assert.match(err.description, /'X1' is not a valid id/);
    await rejectsWith(collect(client.listRelations({}, { pageSize: -1 })), grpc.status.INVALID_ARGUMENT, 'page_size');
  });

  test('batchGetEntities keeps request order', async () => {
    const got = await client.batchGetEntities(['russia', 'kayani', 'zardari']);
    assert.deepEqual(got.entities.map((e) => e.id), ['russia', 'kayani', 'zardari']);
    assert.equal(got.revision, 5);
    await rejectsWith(client.batchGetEntities(['russia', 'nosuch']), grpc.status.NOT_FOUND);
  });

  test('searchEntities follows pages', async () => {
    const [onePage] = await collect(client.searchEntitiesPages('pak', { pageSize: 1000 }));
    const expected = onePage.entities.map((e) => e.id);
    assert.ok(expected.includes('pakistan') && expected.includes('pakistan-steel-mills'));
    const pages = await collect(client.searchEntitiesPages('pak', { pageSize: 4 }));
    assert.equal(pages.length, Math.ceil(expected.length / 4));
    assert.ok(pages.length > 2);
    assert.deepEqual((await collect(client.searchEntities('pak', { pageSize: 4 }))).map((e) => e.id), expected);
    assert.deepEqual((await collect(client.searchEntities('pak', { kind: 'state' }))).map((e) => e.id), ['pakistan']);
  });

  test('listRelations follows pages', async () => {
    const pages = await collect(client.listRelationsPages({ subject: 'zardari' }, { pageSize: 3 }));
    assert.deepEqual(pages.map((p) => p.relations.length), [3, 3, 3, 1]);
    const predicates = (await collect(client.listRelations({ subject: 'zardari' }, { pageSize: 3 })))
      .map((r) => r.predicate).sort();
    assert.deepEqual(predicates, ['announced_visit', 'invited', 'met', 'met', 'met', 'participated_in',
      'visited', 'visited', 'visited', 'visited']);
    const may2011 = await collect(client.listRelations({
      subject: 'zardari', predicate: 'visited', objectId: 'russia', window: window('2011-05', '2011-05', { certainly: true }),
    }));
    assert.deepEqual(may2011.map((r) => r.id).sort(), [
      'rel.zardari-visit-russia-2011-05.seed-000', 'rel.zardari-visit-russia-2011-05.seed-001']);
  });

  test('getRelation as of a revision, and status filters', async () => {
    const planned = await client.getRelation('rel.putin-visit-pakistan-2012', { asOfRevision: 2 });
    assert.deepEqual([planned.status, formatRange(planned.valid), planned.revision], ['PLANNED', '2012-09', 2]);
    const now = await client.getRelation('rel.putin-visit-pakistan-2012');
    assert.deepEqual([now.status, formatRange(now.valid)], ['POSTPONED', '2012-10-03']);
    assert.equal(now.object, 'objectId');
    assert.deepEqual(await collect(client.listRelations({ subject: 'putin', predicate: 'visited', objectId: 'pakistan' })), []);
    const asked = await collect(client.listRelations({ subject: 'putin', objectId: 'pakistan', statuses: ['POSTPONED'] }));
    assert.deepEqual(asked.map((r) => r.id), ['rel.putin-visit-pakistan-2012']);
  });

  test('neighbors', async () => {
    const got = await client.neighbors('zardari', { direction: 'OUT', window: window('2011', '2011', { certainly: true }) });
    assert.equal(got.truncated, false);
    assert.deepEqual(got.neighbors.map((n) => `${n.relation!.predicate} ${n.neighbor!.id}`).sort(), [
      'invited russia', 'met medvedev', 'met medvedev', 'visited russia', 'visited russia', 'visited russia']);
    assert.ok(got.neighbors.every((n) => n.direction === 'OUT'));
    const limited = await client.neighbors('zardari', { direction: 'OUT', limit: 2 });
    assert.deepEqual([limited.neighbors.length, limited.truncated], [2, true]);
  });

  test('diffRevisions streams the changes of a range', async () => {
    const changes = await collect(client.diffRevisions(2, 3, { scope: { entityId: 'putin', predicates: ['visited'] } }));
    assert.deepEqual(changes.map((c) => [c.revision, c.kind, c.id]), [[3, 'RELATION_CHANGED', 'rel.putin-visit-pakistan-2012']]);
    assert.equal(changes[0].relationBefore!.status, 'PLANNED');
    assert.equal(changes[0].relationAfter!.status, 'POSTPONED');
    await rejectsWith(collect(client.diffRevisions(0, 9)), grpc.status.OUT_OF_RANGE);
    await rejectsWith(collect(client.diffRevisions(0, 0, { scope: { between: ['pakistan'] } })),
      grpc.status.INVALID_ARGUMENT, 'scope.between');
  });

  test('getHistory follows pages', async () => {
    const versions = await collect(client.getHistory({ relationId: 'rel.putin-visit-pakistan-2012' }, { pageSize: 1 }));
    assert.deepEqual(versions.map((v) => [v.revision, v.kind, v.relation!.status]), [
      [2, 'RELATION_ADDED', 'PLANNED'], [3, 'RELATION_CHANGED', 'POSTPONED'], [4, 'RELATION_CHANGED', 'POSTPONED']]);
    await rejectsWith(collect(client.getHistory({ entityId: 'nosuch' })), grpc.status.NOT_FOUND);
  });
});
