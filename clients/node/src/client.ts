// A thin, typed layer over the @grpc/grpc-js stubs of annals.v1.
//
// Every RPC of IngestService, QueryService and DiffService has a method that takes the
// request's fields (lowerCamelCase) and returns a promise of the response message; paged
// RPCs are async iterators that follow nextPageToken, streaming RPCs async iterators too.
//
// Deadlines: every call gets `timeoutMs` (the client's default, DEFAULT_TIMEOUT_MS, or the
// call's own; null means none). It covers the whole logical call, retries included; a paged
// iterator gives each page its own. ingest() and watch() have no deadline unless given one.
//
// Retries: only on UNAVAILABLE, with exponential backoff and full jitter. Reads are always
// retried; writes only when they carry a requestId (the server then answers a repeat with
// the first result). ingest() is never retried; diffRevisions() only before its first
// change; watch() resumes after the last change delivered, with its resumeToken.
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';

import { type DateLike, date } from './dates';
import { type AnnalsProto, loadAnnalsProto } from './proto';
import type { BatchGetEntitiesResponse__Output } from './gen/annals/v1/BatchGetEntitiesResponse';
import type { Change__Output } from './gen/annals/v1/Change';
import type { DeleteResponse__Output } from './gen/annals/v1/DeleteResponse';
import type { MergeResponse__Output } from './gen/annals/v1/MergeResponse';
import type { DiffServiceClient } from './gen/annals/v1/DiffService';
import type { DiffValidTimesResponse__Output } from './gen/annals/v1/DiffValidTimesResponse';
import type { Direction } from './gen/annals/v1/Direction';
import type { Document } from './gen/annals/v1/Document';
import type { Entity, Entity__Output } from './gen/annals/v1/Entity';
import type { GetHistoryRequest } from './gen/annals/v1/GetHistoryRequest';
import type { GetHistoryResponse__Output } from './gen/annals/v1/GetHistoryResponse';
import type { IngestRequest } from './gen/annals/v1/IngestRequest';
import type { IngestResponse__Output } from './gen/annals/v1/IngestResponse';
import type { IngestServiceClient } from './gen/annals/v1/IngestService';
import type { ListRelationsRequest } from './gen/annals/v1/ListRelationsRequest';
import type { ListRelationsResponse__Output } from './gen/annals/v1/ListRelationsResponse';
import type { NeighborsRequest } from './gen/annals/v1/NeighborsRequest';
import type { NeighborsResponse__Output } from './gen/annals/v1/NeighborsResponse';
import type { PutDocumentsResponse__Output } from './gen/annals/v1/PutDocumentsResponse';
import type { PutRelationsResponse__Output } from './gen/annals/v1/PutRelationsResponse';
import type { QueryServiceClient } from './gen/annals/v1/QueryService';
import type { Relation, Relation__Output } from './gen/annals/v1/Relation';
import type { Scope } from './gen/annals/v1/Scope';
import type { SearchEntitiesRequest } from './gen/annals/v1/SearchEntitiesRequest';
import type { SearchEntitiesResponse__Output } from './gen/annals/v1/SearchEntitiesResponse';
import type { Status } from './gen/annals/v1/Status';
import type { UpsertEntitiesResponse__Output } from './gen/annals/v1/UpsertEntitiesResponse';
import type { Version__Output } from './gen/annals/v1/Version';
import type { WindowMode } from './gen/annals/v1/WindowMode';

/** Milliseconds a call may take unless the client or the call says otherwise. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** The server's message size limit, each way. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** How UNAVAILABLE is retried: up to maxAttempts tries in all, pausing a random time in
 * [0, min(maxBackoffMs, initialBackoffMs * multiplier ** n)] before retry n + 1. */
export interface RetryPolicy {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  multiplier: number;
}

export const DEFAULT_RETRY: Readonly<RetryPolicy> = { maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 2000, multiplier: 2 };
export const NO_RETRY: Readonly<RetryPolicy> = { ...DEFAULT_RETRY, maxAttempts: 1 };

export interface ConnectOptions {
  /** Default deadline of each call in ms; null for none. */
  timeoutMs?: number | null;
  retry?: Partial<RetryPolicy>;
  /** Plaintext when left out. */
  credentials?: grpc.ChannelCredentials;
  /** Extra gRPC channel options, e.g. { 'grpc.initial_reconnect_backoff_ms': 100 }. */
  channelOptions?: grpc.ChannelOptions;
  /** Where annals/v1/*.proto are (default: $ANNALS_PROTO_DIR or the repository's proto/). */
  protoDir?: string;
  /** Metadata sent with every call. */
  metadata?: Record<string, string>;
  /** gRPC client interceptors, run on every attempt. */
  interceptors?: grpc.Interceptor[];
}

export interface CallOptions {
  /** This call's deadline in ms, overriding the client's default; null for none. */
  timeoutMs?: number | null;
}

export interface WriteOptions extends CallOptions {
  /** Idempotency key (AIP-155); writes are retried on UNAVAILABLE only when it is set. */
  requestId?: string;
}

export interface ReadOptions extends CallOptions {
  /** 0 (the default) reads the latest revision. */
  asOfRevision?: number;
}

export interface PageOptions extends ReadOptions {
  /** 0 takes the server's default. */
  pageSize?: number;
}

export type ListRelationsFilter = Omit<ListRelationsRequest, 'pageToken' | 'asOfRevision' | 'pageSize'>;
export type NeighborsOptions = Omit<NeighborsRequest, 'entityId' | 'asOfRevision'> & ReadOptions;

const FIELD_RE = /^([a-z_][a-z0-9_]*(?:\[[^\]]*\]|\.[a-z_][a-z0-9_]*)*): ([\s\S]*)$/;

/** A call that ended with a non-OK status. `field` is the field path the message starts
 * with (e.g. 'entities[0].id' for INVALID_ARGUMENT), when it has one. */
export class AnnalsError extends Error {
  readonly code: grpc.status;
  readonly codeName: string;
  readonly details: string;
  readonly field?: string;
  readonly description: string;
  readonly metadata?: grpc.Metadata;

  constructor(code: grpc.status, details: string, metadata?: grpc.Metadata) {
    const codeName = grpc.status[code] ?? String(code);
    super(`${codeName}: ${details}`);
    this.name = 'AnnalsError';
    this.code = code;
    this.codeName = codeName;
    this.details = details;
    this.metadata = metadata;
    const m = FIELD_RE.exec(details);
    this.field = m?.[1];
    this.description = m ? m[2] : details;
  }

  static from(error: unknown): AnnalsError {
    if (error instanceof AnnalsError) return error;
    const e = error as Partial<grpc.ServiceError>;
    if (typeof e?.code === 'number') return new AnnalsError(e.code, e.details ?? e.message ?? '', e.metadata);
    return new AnnalsError(grpc.status.UNKNOWN, String((error as Error)?.message ?? error));
  }
}

type Callback<Res> = grpc.requestCallback<Res>;
type UnaryFn<Req, Res> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<Res>) => grpc.ClientUnaryCall;
type StreamFn<Req, Res> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientReadableStream<Res>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A connection to one Annals server. Call close() when done. */
export class AnnalsClient {
  /** The generated stubs, for what this layer does not cover (e.g. the annals-revision trailer). */
  readonly ingestStub: IngestServiceClient;
  readonly queryStub: QueryServiceClient;
  readonly diffStub: DiffServiceClient;
  readonly timeoutMs: number | null;
  readonly retry: Readonly<RetryPolicy>;
  private readonly metadata: grpc.Metadata;

  constructor(address: string, options: ConnectOptions = {}) {
    const proto: AnnalsProto = loadAnnalsProto(options.protoDir);
    const credentials = options.credentials ?? grpc.credentials.createInsecure();
    const channelOptions: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      ...options.channelOptions,
    };
    const clientOptions: grpc.ClientOptions = { ...channelOptions, interceptors: options.interceptors ?? [] };
    this.ingestStub = new proto.annals.v1.IngestService(address, credentials, clientOptions);
    // The other stubs share the first one's channel.
    const shared = { ...clientOptions, channelOverride: this.ingestStub.getChannel() };
    this.queryStub = new proto.annals.v1.QueryService(address, credentials, shared);
    this.diffStub = new proto.annals.v1.DiffService(address, credentials, shared);
    this.timeoutMs = options.timeoutMs === undefined ? DEFAULT_TIMEOUT_MS : options.timeoutMs;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(options.metadata ?? {})) this.metadata.set(k, v);
  }

  /** Closes the channel; calls in flight are cancelled. */
  close(): void {
    this.ingestStub.close();
  }

  // -- plumbing -----------------------------------------------------------------------------

  private deadlineOf(timeoutMs: number | null | undefined): number | null {
    const ms = timeoutMs === undefined ? this.timeoutMs : timeoutMs;
    return ms === null ? null : Date.now() + ms;
  }

  private static callOptions(deadline: number | null): grpc.CallOptions {
    return deadline === null ? {} : { deadline: new Date(deadline) };
  }

  /** The pause before retry number `retry`, or the error to throw. */
  private retryPause(error: unknown, retry: number, attempts: number, deadline: number | null): number {
    const e = AnnalsError.from(error);
    if (e.code !== grpc.status.UNAVAILABLE || retry + 1 >= attempts) throw e;
    const cap = Math.min(this.retry.maxBackoffMs, this.retry.initialBackoffMs * this.retry.multiplier ** retry);
    const pause = Math.random() * cap;
    if (deadline !== null && Date.now() + pause >= deadline) throw e;
    return pause;
  }

  private async unary<Req, Res>(fn: UnaryFn<Req, Res>, request: Req, options: CallOptions = {},
    retryable = true): Promise<Res> {
    const deadline = this.deadlineOf(options.timeoutMs);
    const attempts = retryable ? Math.max(1, this.retry.maxAttempts) : 1;
    for (let retry = 0; ; retry++) {
      try {
        return await new Promise<Res>((resolve, reject) => {
          fn(request, this.metadata, AnnalsClient.callOptions(deadline), (err, res) => {
            if (err) reject(err);
            else resolve(res as Res);
          });
        });
      } catch (err) {
        await sleep(this.retryPause(err, retry, attempts, deadline));
      }
    }
  }

  private async *pages<Req extends { pageToken?: string }, Res extends { nextPageToken: string }>(
    fn: UnaryFn<Req, Res>, request: Req, options: CallOptions): AsyncGenerator<Res> {
    const req = { ...request };
    for (;;) {
      const page = await this.unary(fn, req, options);
      yield page;
      if (!page.nextPageToken) return;
      req.pageToken = page.nextPageToken;
    }
  }

  private async *serverStream<Req, Res>(fn: StreamFn<Req, Res>, request: Req,
    options: CallOptions): AsyncGenerator<Res> {
    const deadline = this.deadlineOf(options.timeoutMs);
    const attempts = Math.max(1, this.retry.maxAttempts);
    for (let retry = 0; ; retry++) {
      const call = fn(request, this.metadata, AnnalsClient.callOptions(deadline));
      let received = false;
      try {
        for await (const message of call) {
          received = true;
          yield message as Res;
        }
        return;
      } catch (err) {
        if (received) throw AnnalsError.from(err);
        await sleep(this.retryPause(err, retry, attempts, deadline));
      } finally {
        call.cancel(); // a no-op once the stream ended; stops it when the caller broke off
      }
    }
  }

  // -- IngestService ------------------------------------------------------------------------

  /** Creates or replaces each entity whole; identical ones are counted as unchanged. */
  upsertEntities(entities: Entity[], options: WriteOptions = {}): Promise<UpsertEntitiesResponse__Output> {
    return this.unary((r, md, o, cb) => this.ingestStub.UpsertEntities(r, md, o, cb),
      { entities, requestId: options.requestId ?? '' }, options, !!options.requestId);
  }

  /** Creates or replaces each source document whole, like upsertEntities. */
  putDocuments(documents: Document[], options: WriteOptions = {}): Promise<PutDocumentsResponse__Output> {
    return this.unary((r, md, o, cb) => this.ingestStub.PutDocuments(r, md, o, cb),
      { documents, requestId: options.requestId ?? '' }, options, !!options.requestId);
  }

  /** Adds relations; an existing id gets a new version. Without an id and without a
   * requestId every call records a new claim, so such writes are never retried. */
  putRelations(relations: Relation[], options: WriteOptions = {}): Promise<PutRelationsResponse__Output> {
    return this.unary((r, md, o, cb) => this.ingestStub.PutRelations(r, md, o, cb),
      { relations, requestId: options.requestId ?? '' }, options, !!options.requestId);
  }

  /** Retracts a relation and resolves to the retracted version (retracted: true). */
  retractRelation(id: string, options: WriteOptions & { reason?: string } = {}): Promise<Relation__Output> {
    return this.unary((r, md, o, cb) => this.ingestStub.RetractRelation(r, md, o, cb),
      { id, reason: options.reason ?? '', requestId: options.requestId ?? '' }, options, !!options.requestId);
  }

  /** Deletes an entity (a tombstone: reads as of earlier revisions still see it). Rejects
   * with FAILED_PRECONDITION while relations name it, unless `cascade` retracts them in the
   * same revision; the response lists them. */
  deleteEntity(id: string, options: WriteOptions & { cascade?: boolean } = {}): Promise<DeleteResponse__Output> {
    return this.unary((r, md, o, cb) => this.ingestStub.DeleteEntity(r, md, o, cb),
      { id, cascade: options.cascade ?? false, requestId: options.requestId ?? '' }, options, !!options.requestId);
  }

  /** Merges entities into `survivor` in one revision: from then on reads resolve each of
   * `ids` to it (its relations appear under it, its names find it). Resolves to the
   * survivor as read at that revision, with `mergedIds`. */
  mergeEntities(survivor: string, ids: string[], options: WriteOptions = {}): Promise<MergeResponse__Output> {
    return this.unary((r, md, o, cb) => this.ingestStub.MergeEntities(r, md, o, cb),
      { survivor, ids, requestId: options.requestId ?? '' }, options, !!options.requestId);
  }

  /** Undoes the merge of one entity, as a new revision: it is itself again. */
  unmergeEntity(id: string, options: WriteOptions = {}): Promise<MergeResponse__Output> {
    return this.unary((r, md, o, cb) => this.ingestStub.UnmergeEntity(r, md, o, cb),
      { id, requestId: options.requestId ?? '' }, options, !!options.requestId);
  }

  /** Deletes a document. Rejects with FAILED_PRECONDITION while relations cite it, unless
   * `cascade` takes it out of their sources (retracting those it alone supported). */
  deleteDocument(id: string, options: WriteOptions & { cascade?: boolean } = {}): Promise<DeleteResponse__Output> {
    return this.unary((r, md, o, cb) => this.ingestStub.DeleteDocument(r, md, o, cb),
      { id, cascade: options.cascade ?? false, requestId: options.requestId ?? '' }, options, !!options.requestId);
  }

  /**
   * Streams batches through one Ingest call and yields one ack per batch, in order. A
   * rejected batch is an ack with `errors`, not an exception. Batches are written as the
   * server takes them (flow control). No deadline by default; never retried (give batches
   * request ids and run it again). Breaking out of the loop cancels the call.
   */
  async *ingest(batches: Iterable<IngestRequest> | AsyncIterable<IngestRequest>,
    options: CallOptions = {}): AsyncGenerator<IngestResponse__Output> {
    const deadline = options.timeoutMs === undefined || options.timeoutMs === null ? null : Date.now() + options.timeoutMs;
    const call = this.ingestStub.Ingest(this.metadata, AnnalsClient.callOptions(deadline));
    let inputError: unknown;
    const writer = (async () => {
      try {
        for await (const batch of batches) {
          if (!call.write(batch)) await once(call, 'drain');
        }
        call.end();
      } catch (err) {
        inputError = err;
        call.cancel();
      }
    })();
    try {
      for await (const ack of call) yield ack as IngestResponse__Output;
      await writer;
      if (inputError) throw inputError;
    } catch (err) {
      if (inputError) throw inputError;
      throw AnnalsError.from(err);
    } finally {
      call.cancel();
    }
  }

  // -- QueryService -------------------------------------------------------------------------

  /** The entity's version current at asOfRevision (0: the latest). */
  getEntity(id: string, options: ReadOptions = {}): Promise<Entity__Output> {
    return this.unary((r, md, o, cb) => this.queryStub.GetEntity(r, md, o, cb),
      { id, asOfRevision: options.asOfRevision ?? 0 }, options);
  }

  /** Several entities at one revision, in request order; NOT_FOUND if any is missing. */
  batchGetEntities(ids: string[], options: ReadOptions = {}): Promise<BatchGetEntitiesResponse__Output> {
    return this.unary((r, md, o, cb) => this.queryStub.BatchGetEntities(r, md, o, cb),
      { ids, asOfRevision: options.asOfRevision ?? 0 }, options);
  }

  /** Every page of a search; each carries the revision answered at. */
  searchEntitiesPages(query: string, options: PageOptions & { kind?: string } = {}): AsyncGenerator<SearchEntitiesResponse__Output> {
    return this.pages<SearchEntitiesRequest, SearchEntitiesResponse__Output>(
      (r, md, o, cb) => this.queryStub.SearchEntities(r, md, o, cb), {
      query, kind: options.kind ?? '', pageSize: options.pageSize ?? 0, asOfRevision: options.asOfRevision ?? 0,
    }, options);
  }

  /** Entities whose label or an alias has words starting with `query`, across all pages. */
  async *searchEntities(query: string, options: PageOptions & { kind?: string } = {}): AsyncGenerator<Entity__Output> {
    for await (const page of this.searchEntitiesPages(query, options)) yield* page.entities;
  }

  /** The relation's version current at asOfRevision. */
  getRelation(id: string, options: ReadOptions & { showRetracted?: boolean } = {}): Promise<Relation__Output> {
    return this.unary((r, md, o, cb) => this.queryStub.GetRelation(r, md, o, cb),
      { id, asOfRevision: options.asOfRevision ?? 0, showRetracted: options.showRetracted ?? false }, options);
  }

  /** Every page of a relation listing; see listRelations. */
  listRelationsPages(filter: ListRelationsFilter = {}, options: PageOptions = {}): AsyncGenerator<ListRelationsResponse__Output> {
    return this.pages<ListRelationsRequest, ListRelationsResponse__Output>(
      (r, md, o, cb) => this.queryStub.ListRelations(r, md, o, cb), {
      ...filter, asOfRevision: options.asOfRevision ?? 0, pageSize: options.pageSize ?? 0,
    }, options);
  }

  /** The relations matching every filter given, across all pages. `statuses` empty means
   * ASSERTED only; `window` is e.g. window('2011', '2011', { certainly: true }). */
  async *listRelations(filter: ListRelationsFilter = {}, options: PageOptions = {}): AsyncGenerator<Relation__Output> {
    for await (const page of this.listRelationsPages(filter, options)) yield* page.relations;
  }

  /** The relations touching `entityId`, with the entity at their other end (not paged: up to
   * `limit`, and `truncated` says whether more matched). */
  neighbors(entityId: string, options: NeighborsOptions = {}): Promise<NeighborsResponse__Output> {
    const { timeoutMs, asOfRevision, ...rest } = options;
    return this.unary((r, md, o, cb) => this.queryStub.Neighbors(r, md, o, cb),
      { ...rest, entityId, asOfRevision: asOfRevision ?? 0 }, { timeoutMs });
  }

  // -- DiffService --------------------------------------------------------------------------

  /** The changes committed in (fromRevision, toRevision], in commit order (toRevision 0: the
   * latest). The deadline covers the whole stream. */
  diffRevisions(fromRevision = 0, toRevision = 0, options: CallOptions & { scope?: Scope } = {}): AsyncGenerator<Change__Output> {
    return this.serverStream((r, md, o) => this.diffStub.DiffRevisions(r, md, o),
      { fromRevision, toRevision, scope: options.scope ?? null }, options);
  }

  /** The relations that began (held at atB, not at atA), ended, and with includeContinued
   * held at both. Dates like '2010' or { year: 2010 }. */
  diffValidTimes(atA: DateLike, atB: DateLike, options: ReadOptions & {
    scope?: Scope; mode?: WindowMode; includeContinued?: boolean; statuses?: Status[];
  } = {}): Promise<DiffValidTimesResponse__Output> {
    return this.unary((r, md, o, cb) => this.diffStub.DiffValidTimes(r, md, o, cb), {
      atA: date(atA), atB: date(atB), scope: options.scope ?? null, mode: options.mode ?? 'WINDOW_MODE_UNSPECIFIED',
      asOfRevision: options.asOfRevision ?? 0, includeContinued: options.includeContinued ?? false,
      statuses: options.statuses ?? [],
    }, options);
  }

  /** Replays the changes after fromRevision (or after resumeToken), then follows new commits;
   * it does not end on its own (break out of the loop, or give timeoutMs). On UNAVAILABLE it
   * reconnects with the token of the last change delivered, so nothing is missed or repeated. */
  async *watch(fromRevision = 0, options: { resumeToken?: string; scope?: Scope; timeoutMs?: number | null } = {}): AsyncGenerator<Change__Output> {
    let request = { fromRevision, resumeToken: options.resumeToken ?? '', scope: options.scope ?? null };
    const deadline = options.timeoutMs === undefined || options.timeoutMs === null ? null : Date.now() + options.timeoutMs;
    const attempts = Math.max(1, this.retry.maxAttempts);
    for (let retry = 0; ; retry++) {
      const call = this.diffStub.Watch(request, this.metadata, AnnalsClient.callOptions(deadline));
      try {
        for await (const message of call) {
          const change = message as Change__Output;
          retry = 0;
          request = { fromRevision: 0, resumeToken: change.resumeToken, scope: options.scope ?? null };
          yield change;
        }
        return;
      } catch (err) {
        await sleep(this.retryPause(err, retry, attempts, deadline));
      } finally {
        call.cancel();
      }
    }
  }

  /** Every page of one record's history; see getHistory. */
  getHistoryPages(target: { entityId: string } | { relationId: string } | { documentId: string },
    options: CallOptions & { pageSize?: number } = {}): AsyncGenerator<GetHistoryResponse__Output> {
    if (Object.values(target).filter(Boolean).length !== 1) {
      throw new TypeError('give exactly one of entityId, relationId, documentId');
    }
    return this.pages<GetHistoryRequest, GetHistoryResponse__Output>(
      (r, md, o, cb) => this.diffStub.GetHistory(r, md, o, cb),
      { ...target, pageSize: options.pageSize ?? 0 }, options);
  }

  /** Every version of one entity, relation or document, oldest first, across pages. */
  async *getHistory(target: { entityId: string } | { relationId: string } | { documentId: string },
    options: CallOptions & { pageSize?: number } = {}): AsyncGenerator<Version__Output> {
    for await (const page of this.getHistoryPages(target, options)) yield* page.versions;
  }
}

/** A client for the server at `address` ('host:port'); it connects on the first call. */
export function connect(address: string, options: ConnectOptions = {}): AnnalsClient {
  return new AnnalsClient(address, options);
}

export type { Direction, Status, WindowMode };
