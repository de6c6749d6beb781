#!/usr/bin/env node
// Generates TypeScript types for proto/annals/v1/*.proto into src/gen/ (git-ignored) with
// @grpc/proto-loader's proto-loader-gen-types. The options here must match LOADER_OPTIONS
// in src/proto.ts, which loads the same files at run time.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const protoDir = process.env.ANNALS_PROTO_DIR || path.resolve(root, '../../proto');
const outDir = path.join(root, 'src/gen');
const files = fs.readdirSync(path.join(protoDir, 'annals/v1'))
  .filter((f) => f.endsWith('.proto')).sort().map((f) => `annals/v1/${f}`);

fs.rmSync(outDir, { recursive: true, force: true });
const bin = require.resolve('@grpc/proto-loader/build/bin/proto-loader-gen-types.js');
execFileSync(process.execPath, [bin,
  '--grpcLib=@grpc/grpc-js', `--outDir=${outDir}`, `--includeDirs=${protoDir}`,
  '--longs=Number', '--enums=String', '--defaults', '--oneofs', '--inputTemplate=%s', '--outputTemplate=%s__Output',
  ...files], { stdio: 'inherit' });
console.log(`gen-types: ${files.length} files from ${protoDir} into src/gen`);
