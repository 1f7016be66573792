'use strict';
// The .proto files of the daemon's wire contract the client loads, relative to a proto root
// (the repository's proto/ or the package's copy). No dependencies: scripts/copy-protos.js runs
// it before node_modules exists.
module.exports = [
  'tristage/v1/admin.proto',
  'tristage/v1/inference.proto',
  'inference/grpc_service.proto',
  'grpc/health/v1/health.proto',
];
