// Every method of the client, used as a TypeScript program would; checked (never run) by
// `tsc -p examples/tsconfig.json` (ctest client.node.typecheck). The @ts-expect-error lines prove
// that the declarations refuse what the library refuses.
import { Client, Status, TristageError } from '..';
import type { Job, JobEvent, ModelMetadata, PredictionRow, ServingStatus } from '..';

// No Node types are loaded (index.d.ts must not need them); the one global used here:
declare const console: { log(...values: unknown[]): void; error(...values: unknown[]): void };

async function main(): Promise<void> {
  const client = new Client('127.0.0.1:8001', {
    token: 'secret',
    tls: { rootCerts: new Uint8Array(), privateKey: 'key pem', certChain: 'cert pem' },
    timeout: 5000,
  });
  const insecure = new Client('127.0.0.1:8001');
  insecure.close();

  const rows: PredictionRow[] = await client.predict(
    [{ tenure_months: 12, plan: 'basic', autopay: true, support_notes: null }],
    { model: 'churn', version: 1, timeout: 1000 });
  const byColumns = await client.predict({ tenure_months: [12, 3], plan: ['basic', 'pro'] },
                                         { model: 'churn', outputs: ['churned'] });
  const label = rows[0]['churned_predictions'];
  if (typeof label === 'string' && byColumns.length > 0) console.log(label.toUpperCase());

  async function* requests() {
    for (let i = 0; i < 3; ++i) yield [{ tenure_months: i }];
  }
  for await (const answer of client.predictStream(requests(), { model: 'churn' })) {
    console.log(answer.length);
  }
  for await (const answer of client.predictStream([[{ plan: 'basic' }]], { model: 'churn', version: '2' })) {
    console.log(answer[0]);
  }

  const metadata: ModelMetadata = await client.metadata('churn', '1');
  console.log(metadata.inputs.map((i) => `${i.name}:${i.type}:${i.accepts.join('|')}`), metadata.maxBatchSize);
  const health: ServingStatus = await client.health('churn');
  const info = await client.serverInfo({ timeout: 100 });
  console.log(health, info.version, info.system.libraryVersions['libtorch'], await client.serverLive(),
              await client.serverReady(), await client.modelReady('churn', 1),
              (await client.repositoryIndex({ ready: true })).map((m) => m.state));

  const upload = await client.uploadDataset('data.csv');
  await client.uploadDataset(new Uint8Array([97, 10]), { name: 'rows.csv' });
  const jobId: string = await client.submit({
    kind: 'train',
    config: { input_features: [], output_features: [] },
    dataset: upload.dataset,
    options: { random_seed: 42, skip_save_processed_input: true },
    publishModel: 'churn',
  });
  for await (const event of client.watch(jobId, { afterSequence: 0 })) {
    const e: JobEvent = event;
    if (e.type === 'progress') console.log(e.progress.epoch, e.progress.metrics['validation_loss']);
    else if (e.type === 'log') console.log(e.logLine);
    else if (e.type === 'state') console.log(e.state, e.stateReason);
  }
  const job: Job = await client.waitForJob(jobId, { onEvent: (e) => console.log(e.sequence) });
  if (job.state === 'SUCCEEDED') {
    const saved = await client.download(jobId, job.artifacts[0], '/tmp/model.tar');
    console.log(saved.bytes, job.publishedVersion);
  }
  const jobs: Job[] = await client.listJobs({ state: 'RUNNING' });
  const cancelled: Job = await client.cancel(jobs[0].id);
  console.log(cancelled.reason, (await client.getJob(jobId)).metrics);

  try {
    await client.predict([], { model: 'nope' });
  } catch (error) {
    if (error instanceof TristageError && error.code === Status.NOT_FOUND) {
      console.log(error.codeName, error.details, error.message);
    }
  }
  client.close();

  // @ts-expect-error the model is required
  await client.predict([{ a: 1 }], {});
  // @ts-expect-error not a job kind
  await client.submit({ kind: 'bake' });
  // @ts-expect-error a state name, not a number
  await client.listJobs({ state: 3 });
  // @ts-expect-error predictions are records, not a response message
  const wrong: { outputs: object } = await client.predict([], { model: 'churn' });
  console.log(wrong);
  // @ts-expect-error codes are numbers
  const code: string = new TristageError(5, 'x').code;
  console.log(code);
}

main().catch((error: unknown) => console.error(error));
