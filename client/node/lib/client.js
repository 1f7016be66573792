'use strict';
// Client: one connection to a tristage daemon, with promise and async-iterator methods over its
// gRPC services (tristage.v1.Inference, tristage.v1.Admin, grpc.health.v1.Health and KServe v2).
//
// Lifecycle: the constructor makes one channel shared by every service (it connects on the first
// call); close() closes it, after which calls fail. Errors: every method rejects (or its iterator
// throws) with a TristageError carrying the gRPC status code; a daemon that cannot be reached is
// UNAVAILABLE, a unary call past its deadline DEADLINE_EXCEEDED.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { once } = require('node:events');
const grpc = require('@grpc/grpc-js');

const { loadServices } = require('./protos');
const { Status, TristageError, toTristageError } = require('./errors');
const { encodeInputs, decodeRows } = require('./columns');

const DEFAULT_TIMEOUT_MS = 30000;
// The daemon accepts requests up to --max-message-bytes (64 MiB by default); answers may be as
// large (grpc-js would refuse anything over 4 MiB otherwise).
const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const UPLOAD_CHUNK_BYTES = 1024 * 1024;

const JOB_KINDS = { train: 'TRAIN', evaluate: 'EVALUATE', experiment: 'EXPERIMENT',
                    hyperopt: 'HYPEROPT', batch_predict: 'BATCH_PREDICT' };
const JOB_STATES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];
const FINAL_STATES = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

function credentialsFor(tls) {
  if (!tls) return grpc.credentials.createInsecure();
  if (tls === true) return grpc.credentials.createSsl();
  const pem = (v) => (v === undefined || v === null ? null : Buffer.from(v));
  return grpc.credentials.createSsl(pem(tls.rootCerts), pem(tls.privateKey), pem(tls.certChain));
}

function requireString(value, what) {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${what} must be a non-empty string`);
  }
}

// "train" / "TRAIN" -> "TRAIN".
function jobKind(kind) {
  const name = JOB_KINDS[String(kind).toLowerCase()];
  if (!name) {
    throw new TypeError(`submit: kind must be one of ${Object.keys(JOB_KINDS).join(', ')}; got ${kind}`);
  }
  return name;
}

function jobState(state) {
  if (state === undefined || state === null || state === '') return 'JOB_STATE_UNSPECIFIED';
  const name = String(state).toUpperCase();
  if (!JOB_STATES.includes(name)) throw new TypeError(`state must be one of ${JOB_STATES.join(', ')}`);
  return name;
}

// JobEvent as the wire has it (a oneof `event`) -> {sequence, timeUnixMs, state, type, ...} with
// type 'state' (and stateReason), 'progress' (and progress) or 'log' (and logLine).
function jobEvent(event) {
  const out = { sequence: event.sequence, timeUnixMs: event.timeUnixMs, state: event.state };
  if (event.event === 'stateReason') {
    out.type = 'state';
    out.stateReason = event.stateReason;
  } else if (event.event === 'progress') {
    out.type = 'progress';
    out.progress = event.progress;
  } else if (event.event === 'logLine') {
    out.type = 'log';
    out.logLine = event.logLine;
  } else {
    out.type = 'unknown';
  }
  return out;
}

function sha256OfFile(file) {
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('sha256');
    fs.createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

// Follows a streaming call's end: grpc-js emits 'status' once, however the call ends.
function trackEnd(call) {
  const tracker = { ended: false };
  call.on('status', () => {
    tracker.ended = true;
    call.emit('tristage-ended');
  });
  return tracker;
}

// Writes `message` to a client stream, waiting while its buffer is full (until 'drain', or the
// call's end). Resolves false when the call had ended (its error comes from the call's own
// callback or iterator), true otherwise.
async function writeMessage(call, message, tracker) {
  if (tracker.ended) return false;
  if (!call.write(message)) {
    await new Promise((resolve) => {
      const done = () => {
        call.off('drain', done);
        call.off('tristage-ended', done);
        resolve();
      };
      call.on('drain', done);
      call.on('tristage-ended', done);
    });
  }
  return !tracker.ended;
}

class Client {
  // address: "host:port". options: {token, tls, timeout (ms, each unary call's deadline),
  // protoDir, channelOptions (grpc-js channel options)}.
  constructor(address, options = {}) {
    requireString(address, 'address');
    const services = loadServices(options.protoDir);
    this._token = options.token || '';
    this._timeoutMs = options.timeout ?? DEFAULT_TIMEOUT_MS;
    const channelOptions = {
      'grpc.max_receive_message_length': DEFAULT_MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': DEFAULT_MAX_MESSAGE_BYTES,
      ...options.channelOptions,
    };
    const credentials = credentialsFor(options.tls);
    this._inference = new services.inference(address, credentials, channelOptions);
    const shared = { ...channelOptions, channelOverride: this._inference.getChannel() };
    this._admin = new services.admin(address, credentials, shared);
    this._kserve = new services.kserve(address, credentials, shared);
    this._health = new services.health(address, credentials, shared);
    // "<model>\0<version>" -> Promise<ModelMetadata>: what predict needs to build requests.
    this._metadata = new Map();
    this._closed = false;
  }

  // ---- call plumbing ----

  _callMetadata() {
    const metadata = new grpc.Metadata();
    if (this._token) metadata.set('authorization', `Bearer ${this._token}`);
    return metadata;
  }

  _checkOpen(method) {
    if (this._closed) throw new TristageError(Status.CANCELLED, 'the client is closed', { method });
  }

  // A unary call -> Promise of its answer. `timeout` (ms) overrides the client's; 0: none.
  _unary(stub, rpc, request, timeout, method = rpc) {
    return new Promise((resolve, reject) => {
      this._checkOpen(method);
      const ms = timeout ?? this._timeoutMs;
      const callOptions = ms > 0 ? { deadline: Date.now() + ms } : {};
      stub[rpc](request, this._callMetadata(), callOptions, (error, response) => {
        if (error) reject(toTristageError(error, method));
        else resolve(response);
      });
    });
  }

  // The messages of a server-streaming call, as an async iterator; ending the loop early cancels
  // the call.
  async *_serverStream(stub, rpc, request, method = rpc) {
    this._checkOpen(method);
    const call = stub[rpc](request, this._callMetadata());
    try {
      for await (const message of call) yield message;
    } catch (error) {
      throw toTristageError(error, method);
    } finally {
      call.cancel();  // no effect once the call ended
    }
  }

  // ---- inference ----

  async _modelMetadata(model, version, fresh, method) {
    const key = `${model}\0${version}`;
    if (!fresh && this._metadata.has(key)) return this._metadata.get(key);
    const pending = this._unary(this._inference, 'ModelMetadata',
      { modelName: model, modelVersion: version }, undefined, method);
    this._metadata.set(key, pending);
    pending.catch(() => { if (this._metadata.get(key) === pending) this._metadata.delete(key); });
    return pending;
  }

  // ModelMetadata: {modelName, modelVersion, inputs: [{name, column, type, accepts}],
  // outputs: [{name, type, classNames}], maxBatchSize}.
  async metadata(model, version = '', { timeout } = {}) {
    requireString(model, 'metadata: model');
    return this._unary(this._inference, 'ModelMetadata',
      { modelName: model, modelVersion: String(version ?? '') }, timeout, 'metadata');
  }

  // Predicts `data` (records, or an object of columns) with `model`: one record per row with the
  // columns `tristage predict` writes. The inputs are matched to the model's features by dataset
  // column name, then feature name (ModelMetadata, fetched once per model and version).
  async predict(data, { model, version = '', timeout, outputs } = {}) {
    requireString(model, 'predict: model');
    version = String(version ?? '');
    let metadata = await this._modelMetadata(model, version, false, 'predict');
    let refreshed = false;
    for (;;) {
      const { request, rows } = this._predictRequest(data, model, version, metadata, outputs);
      if (rows === 0) return [];
      try {
        const response = await this._unary(this._inference, 'Predict', request, timeout, 'predict');
        // An unpinned model moved to another version (published, reloaded): its inputs may differ.
        if (response.modelVersion !== metadata.modelVersion) this._metadata.delete(`${model}\0${version}`);
        return decodeRows(response, metadata.outputs.map((o) => o.name), request.outputs);
      } catch (error) {
        // A version published since the metadata was cached may take other inputs: look once more.
        if (refreshed || (error.code !== Status.INVALID_ARGUMENT && error.code !== Status.NOT_FOUND)) throw error;
        refreshed = true;
        const before = metadata.modelVersion;
        metadata = await this._modelMetadata(model, version, true, 'predict').catch(() => { throw error; });
        if (metadata.modelVersion === before) throw error;
      }
    }
  }

  _predictRequest(data, model, version, metadata, outputs) {
    const { inputs, rows } = encodeInputs(data, metadata);
    return { request: { modelName: model, modelVersion: version, inputs, outputs: outputs || [], id: '' }, rows };
  }

  // Many predictions on one tristage.v1.Inference/PredictStream: each item of `inputs` (an
  // iterable or async iterable of records or columns) is one request; yields each request's rows,
  // in order. A failed request ends the stream: the answers before it are yielded, then its
  // TristageError is thrown. Requests are sent as fast as the stream takes them (the daemon
  // reads up to 64 ahead of its answers).
  async *predictStream(inputs, { model, version = '' } = {}) {
    requireString(model, 'predictStream: model');
    version = String(version ?? '');
    const method = 'predictStream';
    const metadata = await this._modelMetadata(model, version, false, method);
    const order = metadata.outputs.map((o) => o.name);
    this._checkOpen(method);
    const call = this._inference.PredictStream(this._callMetadata());
    const tracker = trackEnd(call);
    let sent = 0;
    let inputError = null;
    let stopped = false;
    const writer = (async () => {
      try {
        for await (const data of inputs) {
          if (stopped) break;
          const { request } = this._predictRequest(data, model, version, metadata);
          request.id = String(sent);
          sent += 1;
          if (!(await writeMessage(call, request, tracker))) return;  // ended: the reader reports why
        }
        call.end();
      } catch (error) {
        if (!stopped) {
          inputError = error;
          call.cancel();
        }
      }
    })();
    let answered = 0;
    try {
      for await (const response of call) {
        if (response.id !== String(answered)) {
          throw new TristageError(Status.INTERNAL,
            `answer ${answered} carries the id '${response.id}' (answers must come in request order)`,
            { method });
        }
        answered += 1;
        yield decodeRows(response, order);
      }
    } catch (error) {
      if (inputError) throw inputError;
      throw toTristageError(error, method);
    } finally {
      // Also when the caller stops early. The writer is not awaited here: it may be waiting on
      // the caller's input iterable; it sees `stopped` at its next input and returns.
      stopped = true;
      call.cancel();
    }
    await writer;
    if (inputError) throw inputError;
    if (answered !== sent) {
      throw new TristageError(Status.INTERNAL,
        `the stream ended after ${answered} answers to ${sent} requests`, { method });
    }
  }

  // ---- health, server ----

  // grpc.health.v1 Check: 'SERVING', 'NOT_SERVING', ... for `service` ('': the whole server; a
  // model's name: that model). A service the daemon does not know rejects with NOT_FOUND.
  async health(service = '', { timeout } = {}) {
    const response = await this._unary(this._health, 'Check', { service }, timeout, 'health');
    return response.status;
  }

  // tristage.v1.Admin/GetServerInfo: {version, startTimeUnixS, modelRepository, system}.
  async serverInfo({ timeout } = {}) {
    return this._unary(this._admin, 'GetServerInfo', {}, timeout, 'serverInfo');
  }

  // KServe v2: whether the server is live / ready, whether a model (version) is ready.
  async serverLive({ timeout } = {}) {
    return (await this._unary(this._kserve, 'ServerLive', {}, timeout, 'serverLive')).live;
  }

  async serverReady({ timeout } = {}) {
    return (await this._unary(this._kserve, 'ServerReady', {}, timeout, 'serverReady')).ready;
  }

  async modelReady(model, version = '', { timeout } = {}) {
    requireString(model, 'modelReady: model');
    const request = { name: model, version: String(version ?? '') };
    return (await this._unary(this._kserve, 'ModelReady', request, timeout, 'modelReady')).ready;
  }

  // Triton's RepositoryIndex: [{name, version, state, reason}] for every model version.
  async repositoryIndex({ ready = false, timeout } = {}) {
    const response = await this._unary(this._kserve, 'RepositoryIndex',
      { repositoryName: '', ready }, timeout, 'repositoryIndex');
    return response.models;
  }

  // ---- jobs ----

  // Uploads a dataset (a file path, or the file's bytes with {name}: the name's extension tells
  // the format: csv, tsv, json, jsonl). Resolves {dataset, sizeBytes, sha256}; `dataset` is what
  // submit() takes.
  async uploadDataset(source, { name } = {}) {
    const method = 'uploadDataset';
    let size;
    let sha256;
    let chunks;
    if (typeof source === 'string') {
      const stat = await fs.promises.stat(source);
      if (!stat.isFile()) throw new TypeError(`${method}: ${source} is not a file`);
      size = stat.size;
      sha256 = await sha256OfFile(source);
      name = name || path.basename(source);
      chunks = fs.createReadStream(source, { highWaterMark: UPLOAD_CHUNK_BYTES });
    } else if (source instanceof Uint8Array) {
      requireString(name, `${method}: {name} (for bytes)`);
      size = source.length;
      sha256 = crypto.createHash('sha256').update(source).digest('hex');
      chunks = (function* () {
        for (let at = 0; at < source.length; at += UPLOAD_CHUNK_BYTES) {
          yield source.subarray(at, at + UPLOAD_CHUNK_BYTES);
        }
      })();
    } else {
      throw new TypeError(`${method}: give a file path or a Buffer/Uint8Array`);
    }
    this._checkOpen(method);
    return new Promise((resolve, reject) => {
      let settled = false;
      const call = this._admin.UploadDataset(this._callMetadata(), (error, response) => {
        if (settled) return;
        settled = true;
        if (error) reject(toTristageError(error, method));
        else resolve(response);
      });
      const tracker = trackEnd(call);
      (async () => {
        try {
          // A false write: the daemon answered early (an error, in the callback); stop reading.
          if (!(await writeMessage(call, { header: { filename: name, sizeBytes: size, sha256 } }, tracker))) return;
          for await (const chunk of chunks) {
            const data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
            if (settled || !(await writeMessage(call, { chunk: data }, tracker))) return;
          }
          call.end();
        } catch (error) {  // reading the file failed: Node's own error
          if (!settled) {
            settled = true;
            call.cancel();
            reject(error);
          }
        } finally {
          if (typeof chunks.destroy === 'function') chunks.destroy();
        }
      })();
    });
  }

  // SubmitJob -> the job id. job: {kind ('train', 'evaluate', 'experiment', 'hyperopt',
  // 'batch_predict'), config (YAML/JSON text, or an object sent as JSON), dataset (an upload's
  // `dataset`, or a path under the daemon's --data-root), model ('job:<id>' or a path),
  // options ({flag: value}, CLI flags by long name), publishModel (train/experiment/hyperopt:
  // serve the trained model under this name), worldSize (train/experiment: N > 1 trains on N
  // data-parallel worker processes within the daemon's --job-threads budget; 0 or 1: one)}.
  async submit(job, { timeout } = {}) {
    if (!job || typeof job !== 'object') throw new TypeError('submit: give {kind, config, dataset, ...}');
    const options = {};
    for (const [flag, value] of Object.entries(job.options || {})) options[flag] = String(value);
    const worldSize = job.worldSize ?? 0;
    if (!Number.isInteger(worldSize) || worldSize < -(2 ** 31) || worldSize >= 2 ** 31) {
      throw new TypeError(`submit: worldSize must be an integer; got ${job.worldSize}`);
    }
    const request = {
      kind: jobKind(job.kind),
      config: typeof job.config === 'object' && job.config !== null ? JSON.stringify(job.config)
                                                                     : String(job.config ?? ''),
      dataset: job.dataset || '',
      model: job.model || '',
      options,
      publishModel: job.publishModel || '',
      worldSize,
    };
    const response = await this._unary(this._admin, 'SubmitJob', request, timeout, 'submit');
    return response.jobId;
  }

  // The job record: {id, kind, state, reason, createdUnixMs, startedUnixMs, finishedUnixMs,
  // publishModel, publishedVersion, epoch, step, metrics, artifacts, worldSize}.
  async getJob(jobId, { timeout } = {}) {
    requireString(jobId, 'getJob: jobId');
    return this._unary(this._admin, 'GetJob', { jobId }, timeout, 'getJob');
  }

  // Every job (oldest first), or those in `state` ('QUEUED', 'RUNNING', ...).
  async listJobs({ state, timeout } = {}) {
    const response = await this._unary(this._admin, 'ListJobs', { state: jobState(state) },
      timeout, 'listJobs');
    return response.jobs;
  }

  // Cancels a job; resolves the job record as it is then.
  async cancel(jobId, { timeout } = {}) {
    requireString(jobId, 'cancel: jobId');
    return this._unary(this._admin, 'CancelJob', { jobId }, timeout, 'cancel');
  }

  // The job's events (state changes, progress, log lines), in order, until the job has ended.
  // {afterSequence}: only events after that sequence number.
  async *watch(jobId, { afterSequence = 0 } = {}) {
    requireString(jobId, 'watch: jobId');
    for await (const event of this._serverStream(this._admin, 'WatchJob', { jobId, afterSequence }, 'watch')) {
      yield jobEvent(event);
    }
  }

  // Follows the job until it ends (each event to `onEvent`), then resolves its final record.
  async waitForJob(jobId, { onEvent } = {}) {
    for await (const event of this.watch(jobId)) if (onEvent) onEvent(event);
    const job = await this.getJob(jobId);
    if (!FINAL_STATES.has(job.state)) {
      throw new TristageError(Status.INTERNAL, `the event stream ended while job ${jobId} is ${job.state}`,
        { method: 'waitForJob' });
    }
    return job;
  }

  // Writes the job's output file `artifact` (one of Job.artifacts; a model directory as
  // "<dir>/model.tar") to the file `destination` (parent directories made). The file appears
  // only once complete. Resolves {path, bytes}.
  async download(jobId, artifact, destination) {
    const method = 'download';
    requireString(jobId, `${method}: jobId`);
    requireString(artifact, `${method}: artifact`);
    requireString(destination, `${method}: destination`);
    await fs.promises.mkdir(path.dirname(path.resolve(destination)), { recursive: true });
    const partial = `${destination}.part-${process.pid}`;
    const out = fs.createWriteStream(partial);
    let bytes = 0;
    let total = 0;
    try {
      for await (const chunk of this._serverStream(this._admin, 'GetArtifact', { jobId, path: artifact }, method)) {
        total = chunk.totalBytes;
        bytes += chunk.data.length;
        if (!out.write(chunk.data)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
      if (total > 0 && bytes !== total) {
        throw new TristageError(Status.DATA_LOSS, `received ${bytes} of ${total} bytes of ${artifact}`, { method });
      }
      await fs.promises.rename(partial, destination);
      return { path: destination, bytes };
    } catch (error) {  // a TristageError from the daemon, or Node's own for the local file
      out.destroy();
      await fs.promises.rm(partial, { force: true });
      throw error;
    }
  }

  // Closes the channel; calls made afterwards fail with CANCELLED.
  close() {
    this._closed = true;
    this._inference.close();
  }
}

module.exports = { Client, JOB_KINDS, FINAL_STATES };
