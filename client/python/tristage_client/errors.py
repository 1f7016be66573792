"""Exceptions of the tristage client: one class, carrying the gRPC status code and message.

Every call of :class:`tristage_client.Client` raises :class:`TristageError` (or one of its
subclasses below) instead of ``grpc.RpcError``; the daemon's code and message are kept as they
were sent. Mistakes the client finds before sending anything (a column of the wrong length, an
unknown job kind) raise :class:`InvalidArgumentError` too, which is also a ``ValueError``.
"""

import grpc

__all__ = [
    "TristageError",
    "InvalidArgumentError",
    "NotFoundError",
    "AlreadyExistsError",
    "PermissionDeniedError",
    "UnauthenticatedError",
    "ResourceExhaustedError",
    "FailedPreconditionError",
    "UnavailableError",
    "DeadlineExceededError",
    "CancelledError",
    "DataLossError",
    "error_from_rpc",
    "invalid_argument",
    "make_error",
]


class TristageError(Exception):
    """A failed call: ``code`` is the ``grpc.StatusCode``, ``message`` the daemon's text."""

    def __init__(self, code, message):
        self.code = code
        self.message = message
        super().__init__("%s: %s" % (code.name, message))


class InvalidArgumentError(TristageError, ValueError):
    """INVALID_ARGUMENT: a bad request (missing feature, value that does not parse, ...)."""


class NotFoundError(TristageError, LookupError):
    """NOT_FOUND: an unknown model, version, job, artifact or health service."""


class AlreadyExistsError(TristageError):
    """ALREADY_EXISTS."""


class PermissionDeniedError(TristageError):
    """PERMISSION_DENIED: e.g. a dataset path outside the daemon's --data-root."""


class UnauthenticatedError(TristageError):
    """UNAUTHENTICATED: a missing or wrong bearer token."""


class ResourceExhaustedError(TristageError):
    """RESOURCE_EXHAUSTED: a full queue, too many jobs, a message or upload over the limit."""


class FailedPreconditionError(TristageError):
    """FAILED_PRECONDITION: e.g. jobs on a daemon started without --state-dir."""


class UnavailableError(TristageError):
    """UNAVAILABLE: the daemon cannot be reached, or the model version is (un)loading."""


class DeadlineExceededError(TristageError, TimeoutError):
    """DEADLINE_EXCEEDED: the call's timeout passed."""


class CancelledError(TristageError):
    """CANCELLED."""


class DataLossError(TristageError):
    """DATA_LOSS: an upload or download whose size or checksum does not match."""


_CLASSES = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.CANCELLED: CancelledError,
    grpc.StatusCode.DATA_LOSS: DataLossError,
}


def make_error(code, message):
    """The exception for ``code`` (a ``grpc.StatusCode``): its subclass, or TristageError."""
    return _CLASSES.get(code, TristageError)(code, message)


def invalid_argument(message):
    """An InvalidArgumentError for a mistake the client found before sending anything."""
    return InvalidArgumentError(grpc.StatusCode.INVALID_ARGUMENT, message)


def error_from_rpc(error):
    """Converts a ``grpc.RpcError`` (which is also a ``grpc.Call``) into a TristageError."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = error.details() if hasattr(error, "details") else str(error)
    if code is None:
        code = grpc.StatusCode.UNKNOWN
    return make_error(code, message or "")
