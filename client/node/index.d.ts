// Type declarations of tristage-client, the Node client of the tristage daemon (index.js).
// Self-contained: no @types/node needed (bytes are Uint8Array, which Node's Buffer is).

/** gRPC status code numbers by name, e.g. `Status.NOT_FOUND === 5`. */
export declare const Status: Readonly<{
  OK: 0;
  CANCELLED: 1;
  UNKNOWN: 2;
  INVALID_ARGUMENT: 3;
  DEADLINE_EXCEEDED: 4;
  NOT_FOUND: 5;
  ALREADY_EXISTS: 6;
  PERMISSION_DENIED: 7;
  RESOURCE_EXHAUSTED: 8;
  FAILED_PRECONDITION: 9;
  ABORTED: 10;
  OUT_OF_RANGE: 11;
  UNIMPLEMENTED: 12;
  INTERNAL: 13;
  UNAVAILABLE: 14;
  DATA_LOSS: 15;
  UNAUTHENTICATED: 16;
}>;

export type StatusCodeName = keyof typeof Status;

/**
 * How every call fails: the daemon's gRPC status (or the client's own check, e.g. a record
 * missing a feature that other rows have, as INVALID_ARGUMENT). Local file errors of
 * uploadDataset and download are Node's own errors.
 */
export declare class TristageError extends Error {
  readonly name: 'TristageError';
  /** The gRPC status code number, e.g. 5. */
  readonly code: number;
  /** Its name, e.g. 'NOT_FOUND' ('CODE_<n>' for a number gRPC does not define). */
  readonly codeName: StatusCodeName | string;
  /** The daemon's message. `message` is "<method>: <codeName>: <details>". */
  readonly details: string;
  /** The client method that failed, e.g. 'predict'. */
  readonly method?: string;
  /** The trailing metadata of the failed call. */
  readonly metadata?: Record<string, string | Uint8Array>;
  constructor(code: number, details: string, options?: { method?: string; cause?: unknown });
}

export interface TlsOptions {
  /** PEM CA bundle that signed the daemon's certificate; absent: the system's roots. */
  rootCerts?: Uint8Array | string;
  /** mTLS: the client's PEM private key and certificate chain. */
  privateKey?: Uint8Array | string;
  certChain?: Uint8Array | string;
}

export interface ClientOptions {
  /** Sent as `authorization: Bearer <token>` on every call (the daemon's --auth-token-file). */
  token?: string;
  /** true: TLS with the system's roots; an object: those PEM files. Absent/false: plaintext. */
  tls?: boolean | TlsOptions;
  /** Deadline of each unary call in ms (default 30000; 0: none). Streams have none. */
  timeout?: number;
  /** Directory holding the tristage .proto files (default: the package's copy, else the checkout's proto/). */
  protoDir?: string;
  /** grpc-js channel options, e.g. {'grpc.max_receive_message_length': 128 << 20}. */
  channelOptions?: Record<string, string | number>;
}

export interface CallOptions {
  /** This call's deadline in ms, instead of the client's. */
  timeout?: number;
}

/** One cell of an input: strings for any feature; numbers, booleans and number arrays (vector) where the feature takes tensors. */
export type InputValue = string | number | bigint | boolean | null | undefined | Uint8Array | Array<number | string>;
/** One row, keyed by dataset column (or feature) name. Keys that are no input of the model are ignored. */
export type InputRecord = Record<string, InputValue>;
/** Columns keyed by dataset column (or feature) name, one value per row each. */
export type InputColumns = Record<string, ArrayLike<InputValue>>;
export type PredictInput = InputRecord[] | InputColumns;

/**
 * One predicted row, with the columns `tristage predict` writes: `<feature>_predictions` (a class
 * name; a number; a vector as number[]; a set's items as string[]), binary/category
 * `<feature>_probabilities_<class>` and `<feature>_probability`, set `<feature>_probabilities`
 * (number[]). Numbers are float32 values in their shortest decimal form, as the CLI writes them.
 */
export type PredictionRow = Record<string, string | number | number[] | string[]>;

export interface PredictOptions extends CallOptions {
  model: string;
  /** Empty or absent: the latest ready version. */
  version?: string | number;
  /** Output features to return; absent: all. */
  outputs?: string[];
}

export interface PredictStreamOptions {
  model: string;
  version?: string | number;
}

export interface ModelInput {
  /** The feature name (the key in a request). */
  name: string;
  /** The dataset column it was trained from. */
  column: string;
  type: string;
  /** What the preprocessor takes: "List[str]", "Tensor". */
  accepts: string[];
}

export interface ModelOutput {
  name: string;
  type: string;
  classNames: string[];
}

export interface ModelMetadata {
  modelName: string;
  modelVersion: string;
  inputs: ModelInput[];
  outputs: ModelOutput[];
  /** Rows the daemon batches together at most. */
  maxBatchSize: number;
}

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export interface SystemInfo {
  blasLibrary: string;
  blasKind: string;
  intraOpThreads: number;
  interOpThreads: number;
  hardwareThreads: number;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  libraryVersions: Record<string, string>;
  memoryAllocator: string;
}

export interface ServerInfo {
  version: string;
  startTimeUnixS: number;
  modelRepository: string;
  system: SystemInfo;
}

export interface RepositoryModel {
  name: string;
  version: string;
  /** 'LOADING', 'READY', 'UNLOADING' or 'UNAVAILABLE'. */
  state: string;
  reason: string;
}

export type JobKindName = 'train' | 'evaluate' | 'experiment' | 'hyperopt' | 'batch_predict';
export type JobKind = 'JOB_KIND_UNSPECIFIED' | 'TRAIN' | 'EVALUATE' | 'EXPERIMENT' | 'HYPEROPT' | 'BATCH_PREDICT';
export type JobState = 'JOB_STATE_UNSPECIFIED' | 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

export interface UploadOptions {
  /** The file name the daemon stores (its extension tells the format: csv, tsv, json, jsonl); required for bytes. */
  name?: string;
}

export interface UploadResult {
  /** What JobSpec.dataset takes, e.g. "upload:<id>/data.csv". */
  dataset: string;
  sizeBytes: number;
  sha256: string;
}

/** SubmitJobRequest (proto/tristage/v1/admin.proto, docs/jobs.md). */
export interface JobSpec {
  kind: JobKindName | Uppercase<JobKindName>;
  /** The model config: YAML or JSON text, or an object (sent as JSON). */
  config?: string | object;
  /** An upload's `dataset`, or a path under the daemon's --data-root. */
  dataset?: string;
  /** evaluate, batch_predict: "job:<id>" or a model directory under the data root. */
  model?: string;
  /** CLI flags by long name without dashes, e.g. {random_seed: 42, skip_save_model: true}. */
  options?: Record<string, string | number | boolean>;
  /** train, experiment, hyperopt: publish the trained model into serving under this name. */
  publishModel?: string;
  /**
   * train, experiment: N > 1 trains on N data-parallel worker processes on the daemon's machine,
   * sharing the job's CPU budget (--job-threads T, T / N threads each; N above T is
   * INVALID_ARGUMENT); 0 or 1 (the default): one process.
   */
  worldSize?: number;
}

export interface Job {
  id: string;
  kind: JobKind;
  state: JobState;
  /** Why the job is in its state (FAILED: the error). */
  reason: string;
  createdUnixMs: number;
  startedUnixMs: number;
  finishedUnixMs: number;
  publishModel: string;
  publishedVersion: number;
  epoch: number;
  step: number;
  metrics: Record<string, number>;
  /** Files of the job's output directory (ended jobs); a model directory as "<dir>/model.tar". */
  artifacts: string[];
  /** Worker processes the job trains on (JobSpec.worldSize; 1 for one process). */
  worldSize: number;
}

export interface JobProgress {
  epoch: number;
  step: number;
  metrics: Record<string, number>;
}

interface JobEventBase {
  sequence: number;
  timeUnixMs: number;
  /** The job's state (for a state event: the new one). */
  state: JobState;
}
export interface JobStateEvent extends JobEventBase { type: 'state'; stateReason: string }
export interface JobProgressEvent extends JobEventBase { type: 'progress'; progress: JobProgress }
export interface JobLogEvent extends JobEventBase { type: 'log'; logLine: string }
/** An event of a kind newer than this client. */
export interface JobUnknownEvent extends JobEventBase { type: 'unknown' }
export type JobEvent = JobStateEvent | JobProgressEvent | JobLogEvent | JobUnknownEvent;

export interface WatchOptions {
  /** Only events after this sequence number (default 0: from the first the daemon holds). */
  afterSequence?: number;
}

export interface DownloadResult {
  path: string;
  bytes: number;
}

/**
 * One connection to a tristage daemon. The channel connects on the first call and is shared by
 * every method; close() ends it.
 */
export declare class Client {
  /** `address`: "host:port". */
  constructor(address: string, options?: ClientOptions);

  /** Predicts `data` (records, or an object of columns): one record per row. */
  predict(data: PredictInput, options: PredictOptions): Promise<PredictionRow[]>;
  /**
   * One PredictStream: each input is one request; yields each request's rows in order. A failed
   * request ends the iteration with its TristageError after the answers before it. Breaking
   * out of the loop cancels the stream.
   */
  predictStream(inputs: Iterable<PredictInput> | AsyncIterable<PredictInput>,
                options: PredictStreamOptions): AsyncGenerator<PredictionRow[], void, undefined>;
  metadata(model: string, version?: string | number, options?: CallOptions): Promise<ModelMetadata>;

  /** grpc.health.v1: '' is the whole server, a model's name that model. Unknown: NOT_FOUND. */
  health(service?: string, options?: CallOptions): Promise<ServingStatus>;
  serverInfo(options?: CallOptions): Promise<ServerInfo>;
  /** KServe v2 ServerLive, ServerReady, ModelReady; Triton's RepositoryIndex. */
  serverLive(options?: CallOptions): Promise<boolean>;
  serverReady(options?: CallOptions): Promise<boolean>;
  modelReady(model: string, version?: string | number, options?: CallOptions): Promise<boolean>;
  repositoryIndex(options?: CallOptions & { ready?: boolean }): Promise<RepositoryModel[]>;

  /** Uploads a dataset file (a path), or its bytes with {name}. */
  uploadDataset(source: string | Uint8Array, options?: UploadOptions): Promise<UploadResult>;
  /** Submits a job; resolves its id. */
  submit(job: JobSpec, options?: CallOptions): Promise<string>;
  getJob(jobId: string, options?: CallOptions): Promise<Job>;
  /** Oldest first; {state}: only jobs in that state. */
  listJobs(options?: CallOptions & { state?: JobState | Lowercase<JobState> }): Promise<Job[]>;
  /** Cancels the job; resolves its record as it is then. */
  cancel(jobId: string, options?: CallOptions): Promise<Job>;
  /** The job's events until it has ended; breaking out of the loop cancels the watch. */
  watch(jobId: string, options?: WatchOptions): AsyncGenerator<JobEvent, void, undefined>;
  /** Follows the job to its end; resolves its final record. */
  waitForJob(jobId: string, options?: { onEvent?: (event: JobEvent) => void }): Promise<Job>;
  /** Writes one of the job's artifacts to the file `destination` (parents made). */
  download(jobId: string, artifact: string, destination: string): Promise<DownloadResult>;

  /** Closes the channel; later calls fail with CANCELLED. */
  close(): void;
}
