"""tristage_client: the Python client of the tristage daemon (tristage-server).

    from tristage_client import Client

    with Client("127.0.0.1:8001", token="...") as client:
        frame = client.predict([{"tenure_months": 12, "plan": "c_charlie", ...}], model="churn")

Predictions (tristage.v1.Inference, unary and streaming), model metadata, health, server
information, the model repository, and jobs (upload, submit, watch, download, cancel) of the
daemon's tristage.v1.Admin service. Every failure raises :class:`TristageError` with the gRPC
status code and message. See client/python/README.md.
"""

from tristage_client.client import Client, Tls
from tristage_client.errors import (
    AlreadyExistsError,
    CancelledError,
    DataLossError,
    DeadlineExceededError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    TristageError,
    UnauthenticatedError,
    UnavailableError,
)
from tristage_client.results import (
    Job,
    JobEvent,
    JobProgress,
    ModelIndexEntry,
    ModelInput,
    ModelMetadata,
    ModelOutput,
    ServerInfo,
    SystemInfo,
    Upload,
)

__version__ = "0.1.0"

__all__ = [
    "Client",
    "Tls",
    "TristageError",
    "AlreadyExistsError",
    "CancelledError",
    "DataLossError",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "UnauthenticatedError",
    "UnavailableError",
    "Job",
    "JobEvent",
    "JobProgress",
    "ModelIndexEntry",
    "ModelInput",
    "ModelMetadata",
    "ModelOutput",
    "ServerInfo",
    "SystemInfo",
    "Upload",
]
