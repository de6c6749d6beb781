// Loads proto/annals/v1/*.proto at run time with @grpc/proto-loader. The options match the
// ones scripts/gen-types.js gives proto-loader-gen-types, so the generated types in src/gen
// describe exactly the objects this loader produces.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

import type { ProtoGrpcType as DiffProto } from './gen/diff';
import type { ProtoGrpcType as IngestProto } from './gen/ingest';
import type { ProtoGrpcType as QueryProto } from './gen/query';

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false, // lowerCamelCase field names, as in the protobuf JSON mapping
  longs: Number, // int64 as number: revisions and counts stay far below 2^53
  enums: String, // enum values by name: 'ASSERTED', 'CERTAINLY', 'OUT'
  defaults: true, // every field present in messages received
  oneofs: true, // a virtual field naming the member set, e.g. relation.object === 'objectId'
};

/** The directory holding annals/v1/*.proto: $ANNALS_PROTO_DIR, else the repository's proto/. */
export function defaultProtoDir(): string {
  const candidates = [process.env.ANNALS_PROTO_DIR, path.resolve(__dirname, '../../../../proto'),
    path.resolve(__dirname, '../../../proto')].filter((d): d is string => !!d);
  const found = candidates.find((d) => fs.existsSync(path.join(d, 'annals/v1/types.proto')));
  if (!found) throw new Error(`annals: proto files not found in ${candidates.join(', ')}; set ANNALS_PROTO_DIR`);
  return found;
}

export type AnnalsProto = IngestProto & QueryProto & DiffProto;

const cache = new Map<string, AnnalsProto>();

/** The gRPC package object for annals.v1 (service constructors and message types). */
export function loadAnnalsProto(protoDir: string = defaultProtoDir()): AnnalsProto {
  let loaded = cache.get(protoDir);
  if (!loaded) {
    const definition = protoLoader.loadSync(
      ['annals/v1/ingest.proto', 'annals/v1/query.proto', 'annals/v1/diff.proto'],
      { ...LOADER_OPTIONS, includeDirs: [protoDir] });
    loaded = grpc.loadPackageDefinition(definition) as unknown as AnnalsProto;
    cache.set(protoDir, loaded);
  }
  return loaded;
}
