"""Plain values the client returns: model metadata, server information, jobs and their events.

Each is a dataclass built from the daemon's protobuf answer (``from_proto``), so callers never
handle generated protobuf classes. Enum values are their names: job kinds in lower case as
``submit`` takes them ("train"), states in upper case as the daemon reports them ("SUCCEEDED").
"""

import dataclasses
from typing import Dict, List, Optional

from tristage_client._proto.tristage.v1 import admin_pb2

__all__ = [
    "ModelInput",
    "ModelOutput",
    "ModelMetadata",
    "SystemInfo",
    "ServerInfo",
    "JobProgress",
    "JobEvent",
    "Job",
    "Upload",
    "ModelIndexEntry",
    "JOB_KINDS",
    "FINAL_JOB_STATES",
]

# Job kinds `Client.submit` takes, and their wire values.
JOB_KINDS = {
    "train": admin_pb2.TRAIN,
    "evaluate": admin_pb2.EVALUATE,
    "experiment": admin_pb2.EXPERIMENT,
    "hyperopt": admin_pb2.HYPEROPT,
    "batch_predict": admin_pb2.BATCH_PREDICT,
}
_KIND_NAMES = {value: name for name, value in JOB_KINDS.items()}

FINAL_JOB_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


def _state_name(value):
    return admin_pb2.JobState.Name(value) if value in admin_pb2.JobState.values() else str(value)


@dataclasses.dataclass(frozen=True)
class ModelInput:
    """One input feature: ``name`` keys the request, ``column`` is the dataset column it was
    trained from, ``type`` the feature type, ``accepts`` "List[str]" and/or "Tensor" (numbers)."""

    name: str
    column: str
    type: str
    accepts: List[str]

    @property
    def takes_numbers(self) -> bool:
        return "Tensor" in self.accepts


@dataclasses.dataclass(frozen=True)
class ModelOutput:
    """One output feature; ``class_names`` for binary and category outputs."""

    name: str
    type: str
    class_names: List[str]


@dataclasses.dataclass(frozen=True)
class ModelMetadata:
    """tristage.v1 ModelMetadata: a served model version's inputs and outputs."""

    model_name: str
    model_version: str
    inputs: List[ModelInput]
    outputs: List[ModelOutput]
    max_batch_size: int

    @classmethod
    def from_proto(cls, message):
        return cls(
            model_name=message.model_name,
            model_version=message.model_version,
            inputs=[
                ModelInput(i.name, i.column, i.type, list(i.accepts)) for i in message.inputs
            ],
            outputs=[ModelOutput(o.name, o.type, list(o.class_names)) for o in message.outputs],
            max_batch_size=message.max_batch_size,
        )


@dataclasses.dataclass(frozen=True)
class SystemInfo:
    """The platform the daemon's engine runs on (as ``tristage check_install`` reports it)."""

    blas_library: str
    blas_kind: str
    intra_op_threads: int
    inter_op_threads: int
    hardware_threads: int
    cuda_available: bool
    cuda_device_count: int
    library_versions: Dict[str, str]
    memory_allocator: str

    @classmethod
    def from_proto(cls, message):
        return cls(
            blas_library=message.blas_library,
            blas_kind=message.blas_kind,
            intra_op_threads=message.intra_op_threads,
            inter_op_threads=message.inter_op_threads,
            hardware_threads=message.hardware_threads,
            cuda_available=message.cuda_available,
            cuda_device_count=message.cuda_device_count,
            library_versions=dict(message.library_versions),
            memory_allocator=message.memory_allocator,
        )


@dataclasses.dataclass(frozen=True)
class ServerInfo:
    """tristage.v1.Admin/GetServerInfo: the daemon's release, start time and platform."""

    version: str
    start_time_unix_s: int
    model_repository: str
    system: SystemInfo

    @classmethod
    def from_proto(cls, message):
        return cls(
            version=message.version,
            start_time_unix_s=message.start_time_unix_s,
            model_repository=message.model_repository,
            system=SystemInfo.from_proto(message.system),
        )


@dataclasses.dataclass(frozen=True)
class JobProgress:
    """A training job's progress after an epoch: epoch (from 1), optimizer steps, and metrics
    named ``<split>_loss`` and ``<split>_<feature>_<metric>``."""

    epoch: int
    step: int
    metrics: Dict[str, float]

    @classmethod
    def from_proto(cls, message):
        return cls(epoch=message.epoch, step=message.step, metrics=dict(message.metrics))


@dataclasses.dataclass(frozen=True)
class JobEvent:
    """One numbered event of a job (``Client.watch``).

    ``type`` is "state" (``state_reason`` set: the job entered ``state``), "progress"
    (``progress`` set) or "log" (``log_line`` set: a line of the job's output). ``state`` is
    the job's state when the event happened.
    """

    sequence: int
    time_unix_ms: int
    state: str
    type: str
    state_reason: Optional[str] = None
    progress: Optional[JobProgress] = None
    log_line: Optional[str] = None

    @classmethod
    def from_proto(cls, message):
        which = message.WhichOneof("event")
        return cls(
            sequence=message.sequence,
            time_unix_ms=message.time_unix_ms,
            state=_state_name(message.state),
            type={"state_reason": "state", "progress": "progress", "log_line": "log"}.get(
                which, "unknown"
            ),
            state_reason=message.state_reason if which == "state_reason" else None,
            progress=JobProgress.from_proto(message.progress) if which == "progress" else None,
            log_line=message.log_line if which == "log_line" else None,
        )


@dataclasses.dataclass(frozen=True)
class Job:
    """A job's record (``get_job``, ``list_jobs``, ``cancel``, ``wait``).

    ``state`` is QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED, ``reason`` why (for FAILED the
    CLI's error). Times are Unix milliseconds, 0 until they happened. ``artifacts`` lists the
    files of an ended job's output directory for ``download`` (a model directory as
    "<path>/model.tar").
    """

    id: str
    kind: str
    state: str
    reason: str
    created_unix_ms: int
    started_unix_ms: int
    finished_unix_ms: int
    publish_model: str
    published_version: int
    epoch: int
    step: int
    metrics: Dict[str, float]
    artifacts: List[str]
    world_size: int = 1

    @property
    def done(self) -> bool:
        """Whether the job ended (SUCCEEDED, FAILED or CANCELLED)."""
        return self.state in FINAL_JOB_STATES

    @classmethod
    def from_proto(cls, message):
        return cls(
            id=message.id,
            kind=_KIND_NAMES.get(message.kind, str(message.kind)),
            state=_state_name(message.state),
            reason=message.reason,
            created_unix_ms=message.created_unix_ms,
            started_unix_ms=message.started_unix_ms,
            finished_unix_ms=message.finished_unix_ms,
            publish_model=message.publish_model,
            published_version=message.published_version,
            epoch=message.epoch,
            step=message.step,
            metrics=dict(message.metrics),
            artifacts=list(message.artifacts),
            world_size=max(1, message.world_size),
        )


@dataclasses.dataclass(frozen=True)
class Upload:
    """An uploaded dataset: pass it (or its ``dataset`` string) to ``submit(dataset=...)``."""

    dataset: str
    size_bytes: int
    sha256: str


@dataclasses.dataclass(frozen=True)
class ModelIndexEntry:
    """One model version of the daemon's repository (KServe RepositoryIndex): ``state`` is
    LOADING, READY, UNLOADING or UNAVAILABLE, ``reason`` why (a load error, "unloaded")."""

    name: str
    version: str
    state: str
    reason: str
