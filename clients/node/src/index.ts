// Annals client for Node.js: the annals.v1 gRPC API with promises, async iterators for
// pages and streams, a default deadline and retries on UNAVAILABLE. See README.md.
export {
  AnnalsClient, AnnalsError, DEFAULT_RETRY, DEFAULT_TIMEOUT_MS, MAX_MESSAGE_BYTES, NO_RETRY, connect,
} from './client';
export type {
  CallOptions, ConnectOptions, Direction, ListRelationsFilter, NeighborsOptions, PageOptions, ReadOptions,
  RetryPolicy, Status, WindowMode, WriteOptions,
} from './client';
export { date, formatDate, formatRange, window } from './dates';
export type { DateLike } from './dates';
export { LOADER_OPTIONS, defaultProtoDir, loadAnnalsProto } from './proto';

// The generated message types (input shapes, and the __Output shapes received).
export type { Change__Output as Change } from './gen/annals/v1/Change';
export type { Date } from './gen/annals/v1/Date';
export type { Document, Document__Output } from './gen/annals/v1/Document';
export type { Entity, Entity__Output } from './gen/annals/v1/Entity';
export type { IngestRequest } from './gen/annals/v1/IngestRequest';
export type { IngestResponse__Output as IngestResponse } from './gen/annals/v1/IngestResponse';
export type { Relation, Relation__Output } from './gen/annals/v1/Relation';
export type { Scope } from './gen/annals/v1/Scope';
export type { TimeRange, TimeRange__Output } from './gen/annals/v1/TimeRange';
export type { Version__Output as Version } from './gen/annals/v1/Version';
export type { Window } from './gen/annals/v1/Window';
