'use strict';
// Finds and loads the daemon's wire contract (the .proto files) at run time.
//
// Where the files come from, first match wins (never the current directory):
//   1. options.protoDir, or the TRISTAGE_PROTO_DIR environment variable;
//   2. <package>/proto: the copy `npm pack` puts into the package (scripts/copy-protos.js);
//   3. <package>/../../proto: the repository's proto/, when the package is used from a checkout.
// Each candidate must hold every file in PROTO_FILES; a directory that lacks one is skipped, and
// when none has them all the error lists what was tried.

const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_FILES = require('./proto-files');

const PACKAGE_DIR = path.resolve(__dirname, '..');

function candidateDirs(protoDir) {
  const explicit = protoDir || process.env.TRISTAGE_PROTO_DIR;
  if (explicit) return [path.resolve(explicit)];
  return [path.join(PACKAGE_DIR, 'proto'), path.resolve(PACKAGE_DIR, '..', '..', 'proto')];
}

function findProtoDir(protoDir) {
  const tried = [];
  for (const dir of candidateDirs(protoDir)) {
    const missing = PROTO_FILES.filter((f) => !fs.existsSync(path.join(dir, f)));
    if (missing.length === 0) return dir;
    tried.push(`${dir} (missing ${missing.join(', ')})`);
  }
  throw new Error(
    `tristage-client: cannot find the tristage .proto files; looked in ${tried.join('; ')}. ` +
      'Use the package from a tristage checkout, a package made by `npm pack`, or set ' +
      'options.protoDir / TRISTAGE_PROTO_DIR to the repository\'s proto/ directory.');
}

// How messages look in JavaScript: camelCase fields, enums as their names, int64 as numbers
// (times in ms and counts stay far below 2^53), defaults filled in, and for each oneof a field
// naming the member that is set.
const LOADER_OPTIONS = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

const cache = new Map();

// Returns {dir, admin, inference, kserve, health}: the service constructors of grpc-js.
function loadServices(protoDir) {
  const dir = findProtoDir(protoDir);
  if (cache.has(dir)) return cache.get(dir);
  const definition = protoLoader.loadSync(PROTO_FILES, { ...LOADER_OPTIONS, includeDirs: [dir] });
  const root = grpc.loadPackageDefinition(definition);
  const services = {
    dir,
    admin: root.tristage.v1.Admin,
    inference: root.tristage.v1.Inference,
    kserve: root.inference.GRPCInferenceService,
    health: root.grpc.health.v1.Health,
  };
  cache.set(dir, services);
  return services;
}

module.exports = { PROTO_FILES, findProtoDir, loadServices };
