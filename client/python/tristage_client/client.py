"""Client: the Python client of a tristage daemon (tristage-server) over gRPC.

Lifecycle: ``Client(address)`` makes a channel; the connection is made by the first call and
kept. ``close()`` (or leaving a ``with Client(...)`` block) closes it. One client may be used
from many threads: gRPC channels and stubs are thread-safe.

Errors: every method raises :class:`tristage_client.TristageError` (a subclass per code, e.g.
``NotFoundError``) carrying the daemon's ``grpc.StatusCode`` and message; never
``grpc.RpcError``. A daemon that cannot be reached is UNAVAILABLE, a call past its timeout
DEADLINE_EXCEEDED.
"""

import collections
import dataclasses
import hashlib
import json
import os
import pathlib
import tarfile
import tempfile
from typing import Optional, Union

import grpc

from tristage_client._proto.grpc.health.v1 import health_pb2, health_pb2_grpc
from tristage_client._proto.inference import grpc_service_pb2, grpc_service_pb2_grpc
from tristage_client._proto.tristage.v1 import admin_pb2, admin_pb2_grpc
from tristage_client._proto.tristage.v1 import inference_pb2, inference_pb2_grpc
from tristage_client.errors import error_from_rpc, invalid_argument, make_error
from tristage_client.tables import Rows, decode_outputs, encode_inputs
from tristage_client.results import (
    JOB_KINDS,
    Job,
    JobEvent,
    ModelIndexEntry,
    ModelMetadata,
    ServerInfo,
    Upload,
)

__all__ = ["Client", "Tls"]

_MESSAGE_BYTES = 64 * 1024 * 1024  # the daemon's default --max-message-bytes
_UPLOAD_CHUNK_BYTES = 1024 * 1024


def _pem(value):
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("ascii")
    raise invalid_argument("TLS material must be PEM text (str or bytes), not %s" % type(value))


@dataclasses.dataclass
class Tls:
    """TLS settings of a Client (``Client(address, tls=Tls(...))``).

    ``root_certificates``: PEM of the CA that signed the daemon's certificate (its
    ``--tls-cert``); None: gRPC's default roots (``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH``, else
    those the installed grpcio uses). ``certificate_chain`` and ``private_key``: the
    client's certificate and key, PEM, for a daemon that requires them (``--tls-client-ca``,
    mTLS). ``target_name_override``: the name to check the server certificate against when it
    differs from the address' host (tests with a certificate for "localhost" on 127.0.0.1).

    ``tls=True`` is ``Tls()``: the default roots, no client certificate. A dict with these keys
    is taken too. ``Tls.from_files(...)`` reads the PEM files.
    """

    root_certificates: Optional[Union[str, bytes]] = None
    certificate_chain: Optional[Union[str, bytes]] = None
    private_key: Optional[Union[str, bytes]] = None
    target_name_override: Optional[str] = None

    @classmethod
    def from_files(cls, root_certificates=None, certificate_chain=None, private_key=None,
                   target_name_override=None):
        """Reads each given PEM file."""

        def read(path):
            return None if path is None else pathlib.Path(path).read_bytes()

        return cls(read(root_certificates), read(certificate_chain), read(private_key),
                   target_name_override)

    @classmethod
    def of(cls, tls):
        if tls is None or tls is False:
            return None
        if tls is True:
            return cls()
        if isinstance(tls, cls):
            return tls
        if isinstance(tls, dict):
            unknown = set(tls) - {f.name for f in dataclasses.fields(cls)}
            if unknown:
                raise invalid_argument(
                    "unknown TLS settings %s (known: root_certificates, certificate_chain, "
                    "private_key, target_name_override)" % sorted(unknown))
            return cls(**tls)
        raise invalid_argument("tls takes None, True, a Tls or a dict, not %s" % type(tls))


class Client:
    """A tristage daemon at ``address`` ("host:port").

    ``token``: sent as ``authorization: Bearer <token>`` on every call (the daemon's
    ``--auth-token-file`` guards Admin and repository RPCs; inference does not need it);
    surrounding whitespace (a file's newline) is dropped.
    ``tls``: None for plaintext, True for TLS with the default roots, or a :class:`Tls` (or a
    dict of its fields) with a CA, client certificate and key. ``timeout``: seconds each unary
    call may take (None: no deadline); streams (``predict_stream``, ``watch``, uploads and
    downloads) have no deadline unless given one. ``options``: extra gRPC channel options, as
    (name, value) pairs.
    """

    def __init__(self, address, token=None, tls=None, timeout=30.0, options=None):
        if not address:
            raise invalid_argument("address is empty (give host:port)")
        self.address = address
        self.timeout = timeout
        token = (token or "").strip()
        self._metadata = (("authorization", "Bearer " + token),) if token else ()
        channel_options = [
            ("grpc.max_receive_message_length", _MESSAGE_BYTES),
            ("grpc.max_send_message_length", _MESSAGE_BYTES),
        ] + list(options or [])
        settings = Tls.of(tls)
        if settings is None:
            self._channel = grpc.insecure_channel(address, options=channel_options)
        else:
            if settings.target_name_override:
                channel_options.append(
                    ("grpc.ssl_target_name_override", settings.target_name_override))
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_pem(settings.root_certificates),
                private_key=_pem(settings.private_key),
                certificate_chain=_pem(settings.certificate_chain))
            self._channel = grpc.secure_channel(address, credentials, options=channel_options)
        self._inference = inference_pb2_grpc.InferenceStub(self._channel)
        self._admin = admin_pb2_grpc.AdminStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)
        self._kserve = grpc_service_pb2_grpc.GRPCInferenceServiceStub(self._channel)

    def __repr__(self):
        return "Client(%r)" % self.address

    def close(self):
        """Closes the channel; calls in flight are cancelled."""
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- plumbing ----

    def _unary(self, method, request, timeout=None, bounded=True):
        """Calls ``method``; its deadline is ``timeout``, else the client's when ``bounded``."""
        if timeout is None and bounded:
            timeout = self.timeout
        try:
            return method(request, metadata=self._metadata, timeout=timeout)
        except grpc.RpcError as error:
            raise error_from_rpc(error) from None

    def _server_stream(self, method, request, timeout=None):
        call = method(request, metadata=self._metadata, timeout=timeout)
        try:
            for message in call:
                yield message
        except grpc.RpcError as error:
            raise error_from_rpc(error) from None
        finally:
            call.cancel()  # a consumer that stopped early; a no-op after the end

    # ---- server ----

    def health(self, service="", timeout=None):
        """grpc.health.v1 Check: "SERVING", "NOT_SERVING" or "UNKNOWN" for ``service`` ("": the
        whole server; a model's name: that model, SERVING while a version is ready). A service
        the daemon does not know raises NotFoundError, as the health protocol specifies."""
        response = self._unary(self._health.Check,
                               health_pb2.HealthCheckRequest(service=service),
                               timeout)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

    def server_info(self, timeout=None):
        """tristage.v1.Admin/GetServerInfo as a :class:`ServerInfo` (needs the token when the
        daemon has one)."""
        return ServerInfo.from_proto(self._unary(
            self._admin.GetServerInfo, admin_pb2.GetServerInfoRequest(),
            timeout))

    # ---- the model repository (KServe v2 / Triton repository RPCs; need the token) ----

    def repository_index(self, ready=False, timeout=None):
        """Every model version of the repository (only ready ones with ``ready=True``), as
        :class:`ModelIndexEntry` values."""
        response = self._unary(self._kserve.RepositoryIndex,
                               grpc_service_pb2.RepositoryIndexRequest(ready=ready),
                               timeout)
        return [ModelIndexEntry(m.name, m.version, m.state, m.reason) for m in response.models]

    def load_model(self, model, timeout=None):
        """Loads (or reloads) ``model`` from the repository; returns once it serves (with
        ``--model-control-mode explicit`` models are served only after this)."""
        self._unary(self._kserve.RepositoryModelLoad,
                    grpc_service_pb2.RepositoryModelLoadRequest(model_name=model),
                    timeout)

    def unload_model(self, model, timeout=None):
        """Stops serving ``model``; returns once its in-flight requests drained."""
        self._unary(self._kserve.RepositoryModelUnload,
                    grpc_service_pb2.RepositoryModelUnloadRequest(model_name=model),
                    timeout)

    # ---- inference ----

    def metadata(self, model, version=None, timeout=None):
        """tristage.v1 ModelMetadata of ``model`` (``version`` None: the latest ready one) as
        a :class:`ModelMetadata`: its inputs (name, dataset column, type, what each accepts),
        outputs (name, type, class names) and the rows one request may carry."""
        request = inference_pb2.ModelMetadataRequest(
            model_name=model, model_version="" if version is None else str(version))
        return ModelMetadata.from_proto(
            self._unary(self._inference.ModelMetadata, request, timeout))

    def _requests(self, rows, metadata, model, version, outputs, prefix):
        """PredictRequests for ``rows``, ``metadata.max_batch_size`` rows each (none for no
        rows)."""
        step = max(1, metadata.max_batch_size)
        bounds = [(b, min(b + step, rows.count)) for b in range(0, rows.count, step)]
        requests = []
        for number, (begin, end) in enumerate(bounds):
            request = inference_pb2.PredictRequest(
                model_name=model, model_version=version, id="%s%d" % (prefix, number))
            if outputs:
                request.outputs.extend(outputs)
            encode_inputs(rows.slice(begin, end), metadata, request)
            requests.append(request)
        return requests

    def predict(self, data, model, version=None, timeout=None, outputs=None):
        """Predicts ``data`` with the served ``model`` and returns a pandas DataFrame, one row
        per input row, with the columns ``tristage predict`` writes (``<f>_predictions``,
        ``<f>_probabilities_<class>``, ``<f>_probability``, ...; see
        :mod:`tristage_client.tables` for the values and how inputs go on the wire).

        ``data``: a list of records (dicts), a dict of columns (name -> list) or a DataFrame
        (whose index the answer keeps); columns the model does not take are ignored.
        ``version``: None for the latest ready version. ``outputs``: output feature names to
        return (None: all). ``timeout``: seconds for the whole call (None: the client's).

        Asks the daemon for the model's metadata first (which columns it takes). More rows than
        the model's ``max_batch_size`` go as several requests over one PredictStream, all to
        the version the metadata named, answered in order.
        """
        rows = Rows.from_data(data)
        metadata = self.metadata(model, version, timeout)
        requests = self._requests(rows, metadata, model,
                                  "" if version is None else str(version), outputs, "")
        if len(requests) <= 1:  # no rows: no request, the frame has the columns only
            responses = [self._unary(self._inference.Predict, r, timeout) for r in requests]
        else:
            for request in requests:  # one version answers every piece
                request.model_version = metadata.model_version
            responses = self._predict_pieces(requests, self.timeout if timeout is None
                                             else timeout)
        return decode_outputs(responses, metadata, rows.index, rows.count, outputs)

    def _predict_pieces(self, requests, timeout):
        call = self._inference.PredictStream(iter(requests), metadata=self._metadata,
                                             timeout=timeout)
        try:
            responses = list(call)
        except grpc.RpcError as error:
            raise error_from_rpc(error) from None
        self._check_order(requests, responses)
        return responses

    @staticmethod
    def _check_order(requests, responses):
        for request, response in zip(requests, responses):
            if response.id != request.id:
                raise make_error(grpc.StatusCode.DATA_LOSS,
                                 "answer '%s' came for request '%s'" % (response.id, request.id))
        if len(responses) != len(requests):
            raise make_error(grpc.StatusCode.DATA_LOSS,
                             "%d answers for %d requests" % (len(responses), len(requests)))

    def predict_stream(self, batches, model, version=None, timeout=None, outputs=None):
        """Predicts each input of the iterable ``batches`` (each a list of records, a dict of
        columns or a DataFrame, as :meth:`predict` takes) over one tristage.v1 PredictStream,
        and yields one DataFrame per input, in order.

        ``batches`` is read lazily, as the stream can take more (the daemon keeps up to 64
        requests outstanding), so it may be a generator of any length. The first failing
        request ends the stream: the answers before it are yielded, then its error is raised.
        An exception raised by ``batches`` itself is raised here, and the stream cancelled.
        ``timeout``: seconds for the whole stream (None: no deadline). Leaving the loop early
        cancels the stream.
        """
        metadata = self.metadata(model, version)
        version_text = metadata.model_version if version is None else str(version)
        pending = collections.deque()  # per input: (its requests, its index, its rows)
        failure = []
        holder = []

        def requests():
            try:
                for number, batch in enumerate(batches):
                    rows = Rows.from_data(batch)
                    pieces = self._requests(rows, metadata, model, version_text, outputs,
                                            "%d." % number)
                    pending.append((pieces, rows.index, rows.count))
                    yield from pieces
            except Exception as error:  # noqa: BLE001 - re-raised on the caller's thread
                failure.append(error)
                if holder:
                    holder[0].cancel()

        call = self._inference.PredictStream(requests(), metadata=self._metadata,
                                             timeout=timeout)
        holder.append(call)
        answered = []

        def empty_inputs():
            # Inputs without rows send nothing: their (empty) frames go out in their turn.
            while pending and not pending[0][0]:
                _, index, _ = pending.popleft()
                yield decode_outputs([], metadata, index, 0, outputs)

        try:
            for response in call:
                yield from empty_inputs()
                if not pending:
                    raise make_error(grpc.StatusCode.DATA_LOSS,
                                     "answer '%s' came for no request" % response.id)
                answered.append(response)
                pieces, index, count = pending[0]
                if len(answered) == len(pieces):
                    pending.popleft()
                    self._check_order(pieces, answered)
                    frame = decode_outputs(answered, metadata, index, count, outputs)
                    answered = []
                    yield frame
        except grpc.RpcError as error:
            if failure:
                raise failure[0] from None
            raise error_from_rpc(error) from None
        finally:
            call.cancel()
        if failure:
            raise failure[0]
        yield from empty_inputs()
        if pending or answered:
            raise make_error(grpc.StatusCode.DATA_LOSS,
                             "the stream ended with %d inputs unanswered" % len(pending))

    # ---- jobs (tristage.v1.Admin; the daemon needs --state-dir) ----

    def upload_dataset(self, source, name=None, timeout=None, chunk_bytes=_UPLOAD_CHUNK_BYTES):
        """Uploads a dataset for jobs and returns an :class:`Upload`, whose ``dataset``
        (``upload:<id>/<file>``) ``submit(dataset=...)`` takes (the Upload itself is taken too).

        ``source``: a file path, or the file's bytes. ``name``: the file name the daemon keeps,
        whose extension tells the format (csv, tsv, json, jsonl); by default the path's base
        name (required for bytes). The SHA-256 is sent ahead and checked by the daemon
        (DataLossError on a mismatch); over its --max-upload-bytes is ResourceExhaustedError.
        ``timeout``: seconds for the whole upload (None: no deadline).
        """
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            if not name:
                raise invalid_argument("upload_dataset: give name= (e.g. 'data.csv') with bytes")
            size, digest = len(data), hashlib.sha256(data).hexdigest()

            def chunks():
                for begin in range(0, size, chunk_bytes):
                    yield data[begin:begin + chunk_bytes]
        elif isinstance(source, (str, os.PathLike)):
            path = pathlib.Path(source)
            name = name or path.name
            hasher, size = hashlib.sha256(), 0
            try:
                with open(path, "rb") as file:
                    for block in iter(lambda: file.read(chunk_bytes), b""):
                        hasher.update(block)
                        size += len(block)
            except OSError as error:
                raise make_error(grpc.StatusCode.NOT_FOUND if isinstance(error, FileNotFoundError)
                                 else grpc.StatusCode.INVALID_ARGUMENT,
                                 "upload_dataset: cannot read '%s': %s"
                                 % (path, error.strerror)) from None
            digest = hasher.hexdigest()

            def chunks():
                with open(path, "rb") as file:
                    yield from iter(lambda: file.read(chunk_bytes), b"")
        else:
            raise invalid_argument("upload_dataset takes a path or bytes, not %s"
                                   % type(source).__name__)

        def requests():
            yield admin_pb2.UploadDatasetRequest(header=admin_pb2.UploadDatasetRequest.Header(
                filename=name, size_bytes=size, sha256=digest))
            for chunk in chunks():
                yield admin_pb2.UploadDatasetRequest(chunk=chunk)

        response = self._unary(self._admin.UploadDataset, requests(), timeout, bounded=False)
        return Upload(response.dataset, response.size_bytes, response.sha256)

    def submit(self, kind, config=None, dataset=None, model=None, options=None, publish=None,
               timeout=None, world_size=None):
        """Submits a job and returns its id.

        ``kind``: "train", "experiment", "evaluate", "hyperopt" or "batch_predict".
        ``config``: the model config as YAML/JSON text, a dict (sent as JSON), or a
        ``pathlib.Path`` of a config file (train, experiment, hyperopt). ``dataset``: an
        :class:`Upload`, an upload's ``dataset`` string, or a path under the daemon's
        --data-root. ``model`` (evaluate, batch_predict): "job:<id>", a :class:`Job`, or a model
        directory under the data root. ``options``: CLI flags by long name without dashes
        (experiment_name, random_seed, batch_size, skip_save_model, ...); values are turned
        into text, bools into "true"/"false". ``publish``: a model name: the trained model is
        exported into the daemon's repository as its next version and served. ``world_size``
        (train, experiment): N > 1 trains on N data-parallel worker processes on the daemon's
        machine, sharing the job's CPU budget (the daemon's --job-threads, which N may not
        exceed: InvalidArgumentError); None, 0 or 1: one process.
        """
        wire_kind = JOB_KINDS.get(str(kind).lower())
        if wire_kind is None:
            raise invalid_argument("unknown job kind '%s' (choose from %s)"
                                   % (kind, ", ".join(JOB_KINDS)))
        request = admin_pb2.SubmitJobRequest(kind=wire_kind, publish_model=publish or "")
        if isinstance(config, pathlib.PurePath):
            config = pathlib.Path(config).read_text(encoding="utf-8")
        elif isinstance(config, (dict, list)):
            config = json.dumps(config)
        if config is not None:
            request.config = config
        if isinstance(dataset, Upload):
            dataset = dataset.dataset
        if dataset is not None:
            request.dataset = os.fspath(dataset)
        if isinstance(model, Job):
            model = "job:" + model.id
        if model is not None:
            request.model = os.fspath(model)
        if world_size is not None:
            if isinstance(world_size, bool) or not isinstance(world_size, int):
                raise invalid_argument("world_size: expected an int, not %r" % (world_size,))
            if not -2**31 <= world_size < 2**31:
                raise invalid_argument("world_size: %d is out of range" % world_size)
            request.world_size = world_size
        for key, value in (options or {}).items():
            request.options[str(key)] = (("true" if value else "false")
                                         if isinstance(value, bool) else str(value))
        return self._unary(self._admin.SubmitJob, request, timeout).job_id

    def get_job(self, job_id, timeout=None):
        """The job's record, a :class:`Job`."""
        return Job.from_proto(self._unary(self._admin.GetJob,
                                          admin_pb2.GetJobRequest(job_id=job_id),
                                          timeout))

    def list_jobs(self, state=None, timeout=None):
        """Every job, oldest first; ``state`` ("RUNNING", ...) keeps those in that state."""
        wire_state = 0
        if state is not None:
            try:
                wire_state = admin_pb2.JobState.Value(str(state).upper())
            except ValueError:
                raise invalid_argument("unknown job state '%s'" % state) from None
        response = self._unary(self._admin.ListJobs, admin_pb2.ListJobsRequest(state=wire_state),
                               timeout)
        return [Job.from_proto(job) for job in response.jobs]

    def cancel(self, job_id, timeout=None):
        """Cancels a job: a queued one at once, a running one is stopped (SIGTERM, then
        SIGKILL a second later) and CANCELLED once reaped. Returns its record."""
        return Job.from_proto(self._unary(self._admin.CancelJob,
                                          admin_pb2.CancelJobRequest(job_id=job_id),
                                          timeout))

    def watch(self, job_id, after_sequence=0, timeout=None):
        """Yields the job's :class:`JobEvent` values (state changes, progress, log lines) from
        the first one the daemon still holds (or after ``after_sequence``) until the job
        ended: the last one is its final state. No deadline unless ``timeout`` (seconds)."""
        for event in self._server_stream(
                self._admin.WatchJob,
                admin_pb2.WatchJobRequest(job_id=job_id, after_sequence=after_sequence),
                timeout):
            yield JobEvent.from_proto(event)

    def wait(self, job_id, on_event=None, timeout=None):
        """Watches the job until it ended (calling ``on_event`` with each event) and returns
        its final :class:`Job`."""
        for event in self.watch(job_id, timeout=timeout):
            if on_event is not None:
                on_event(event)
        return self.get_job(job_id)

    def download(self, job_id, path, destination, extract=False, timeout=None):
        """Downloads the file ``path`` of a job's output directory (one of ``Job.artifacts``;
        a directory as "<dir>.tar", e.g. "experiment_run/model.tar") and returns where it went.

        ``destination``: a file path, or an existing directory (the file keeps its base name).
        With ``extract=True`` the archive is unpacked into the directory ``destination``
        (created) and the directory it held is returned: "experiment_run/model.tar" gives
        ``destination/model``, a model directory for ``tristage predict -m``. The file appears
        whole or not at all; a size that differs from the one announced is DataLossError.
        """
        destination = pathlib.Path(destination)
        if extract:
            if not path.endswith(".tar"):
                raise invalid_argument("download(extract=True) needs a .tar artifact, not '%s'"
                                       % path)
            destination.mkdir(parents=True, exist_ok=True)
            target = destination
            work_dir = destination
        else:
            target = destination / pathlib.PurePosixPath(path).name \
                if destination.is_dir() else destination
            target.parent.mkdir(parents=True, exist_ok=True)
            work_dir = target.parent
        handle, temporary = tempfile.mkstemp(prefix=".download-", dir=work_dir)
        try:
            with os.fdopen(handle, "wb") as file:
                written, total = 0, 0
                for chunk in self._server_stream(
                        self._admin.GetArtifact,
                        admin_pb2.GetArtifactRequest(job_id=job_id, path=path), timeout):
                    file.write(chunk.data)
                    written += len(chunk.data)
                    total = chunk.total_bytes or total
            if total and written != total:
                raise make_error(grpc.StatusCode.DATA_LOSS,
                                 "artifact '%s': %d bytes received, %d announced"
                                 % (path, written, total))
            if extract:
                target = _extract_tar(temporary, target)
            else:
                os.replace(temporary, target)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        return target


def _extract_tar(archive, directory):
    """Unpacks ``archive`` into ``directory``, refusing links and members that would land
    outside it (the daemon's archives hold plain files and directories only). Returns the one
    directory the archive holds (``directory/model``), or ``directory`` when it holds more."""
    root = os.path.realpath(directory)
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in members:
            where = os.path.realpath(os.path.join(root, member.name))
            if not (member.isfile() or member.isdir()) or os.path.commonpath(
                    [root, where]) != root:
                raise make_error(grpc.StatusCode.DATA_LOSS,
                                 "archive member '%s' is not a file inside the archive"
                                 % member.name)
        tar.extractall(root, members=members)
    tops = {pathlib.PurePosixPath(m.name).parts[0] for m in members
            if pathlib.PurePosixPath(m.name).parts}
    if len(tops) == 1:
        top = pathlib.Path(directory) / tops.pop()
        if top.is_dir():
            return top
    return pathlib.Path(directory)
