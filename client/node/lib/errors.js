'use strict';
// TristageError: how every failed call reports itself, with the gRPC status code.

// gRPC status code number -> name (https://grpc.github.io/grpc/core/md_doc_statuscodes.html).
const CODE_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND',
  'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED',
  'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
];

// Name -> number, e.g. Status.NOT_FOUND === 5.
const Status = Object.freeze(Object.fromEntries(CODE_NAMES.map((name, code) => [name, code])));

class TristageError extends Error {
  // `code`: the gRPC status code number; `details`: the server's (or the client's) message;
  // `method`: the RPC or client method that failed, for the message.
  constructor(code, details, { method, cause, metadata } = {}) {
    const codeName = CODE_NAMES[code] || `CODE_${code}`;
    super(`${method ? `${method}: ` : ''}${codeName}: ${details}`, cause ? { cause } : undefined);
    this.name = 'TristageError';
    this.code = code;
    this.codeName = codeName;
    this.details = details;
    if (method) this.method = method;
    if (metadata) this.metadata = metadata;
  }
}

// A grpc-js error (an Error with .code, .details, .metadata) -> TristageError; a TristageError
// passes through; anything else becomes UNKNOWN.
function toTristageError(error, method) {
  if (error instanceof TristageError) return error;
  if (error && typeof error.code === 'number') {
    const metadata = error.metadata && typeof error.metadata.getMap === 'function'
      ? error.metadata.getMap() : undefined;
    return new TristageError(error.code, error.details || error.message, { method, cause: error, metadata });
  }
  return new TristageError(Status.UNKNOWN, error && error.message ? error.message : String(error),
    { method, cause: error });
}

module.exports = { CODE_NAMES, Status, TristageError, toTristageError };
