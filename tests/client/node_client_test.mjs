// End-to-end tests of the Node client library (client/node) against a real tristage-server: a
// train job (upload, submit, watch, download, publish) whose model the prediction tests then use,
// predictions compared with `tristage predict --server`, a 1,000-request stream, metadata,
// health, errors, cancelling, and the packed npm package.
//
// Run by ctest (client.node.client, client/node/CMakeLists.txt):
//   node --test-reporter=spec tests/client/node_client_test.mjs --server PATH --cli PATH
// (or TRISTAGE_SERVER_BINARY / TRISTAGE_CLI_BINARY). Node 18 or newer; the npm packages come
// from client/node/package-lock.json through scripts/install-deps (npm ci).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const packageDir = path.join(repo, 'client', 'node');

function argument(flag, env) {
  const at = process.argv.indexOf(flag);
  const value = at >= 0 ? process.argv[at + 1] : process.env[env];
  if (!value) {
    console.error(`node_client_test: give ${flag} PATH or set ${env}`);
    process.exit(2);
  }
  return value;
}
const serverBinary = argument('--server', 'TRISTAGE_SERVER_BINARY');
const cliBinary = argument('--cli', 'TRISTAGE_CLI_BINARY');

// The npm packages must have been installed from the lockfile; never fetched here.
const { installProblem } = require(path.join(packageDir, 'scripts', 'check-install.js'));
const problem = installProblem();
if (problem) {
  console.error(`node_client_test: ${problem}.\n` +
                `Run scripts/install-deps (it runs npm ci in ${packageDir}).`);
  process.exit(1);
}
const { Client, Status, TristageError } = require(packageDir);

const MODEL = 'churn_node';
const TOKEN = 'node-test-token';
const CONFIG = `input_features:
  - name: tenure_months
    type: number
  - name: plan
    type: category
  - name: autopay
    type: binary
  - name: notes
    type: text
output_features:
  - name: churned
    type: binary
  - name: tier
    type: category
  - name: spend
    type: number
trainer:
  epochs: 2
  batch_size: 32
`;

// ---- helpers ----

// RFC 4180 CSV -> {header, rows (arrays of strings)}.
function parseCsv(text) {
  const records = [];
  let record = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; ++i) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; ++i; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { record.push(cell); cell = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') ++i;
      record.push(cell); records.push(record); record = []; cell = '';
    } else cell += c;
  }
  if (cell !== '' || record.length > 0) { record.push(cell); records.push(record); }
  return { header: records[0], rows: records.slice(1) };
}

function toRecords({ header, rows }) {
  return rows.map((row) => Object.fromEntries(header.map((name, i) => [name, row[i]])));
}

// Asserts that a client's prediction row holds what the CLI wrote in `cells` under `header`:
// the same columns in the same order, labels equal, numbers equal as numbers (both are the
// shortest form of the same float32).
function assertSameAsCli(row, header, cells, where) {
  assert.deepEqual(Object.keys(row), header, `${where}: columns`);
  header.forEach((name, i) => {
    const value = row[name];
    if (typeof value === 'number') {
      assert.equal(value, Number(cells[i]), `${where}: ${name} (CLI wrote ${cells[i]})`);
    } else {
      assert.equal(value, cells[i], `${where}: ${name}`);
    }
  });
}

// Equal labels, numbers within float32 noise (a row's numbers may differ in the last bits
// between batches of different sizes).
function assertClose(actual, expected, where) {
  assert.deepEqual(Object.keys(actual), Object.keys(expected), `${where}: columns`);
  for (const [name, value] of Object.entries(expected)) {
    if (typeof value === 'number') {
      assert.ok(Math.abs(actual[name] - value) <= 1e-5 * Math.max(1, Math.abs(value)),
                `${where}: ${name} is ${actual[name]}, expected ${value}`);
    } else {
      assert.deepEqual(actual[name], value, `${where}: ${name}`);
    }
  }
}

async function expectError(promise, code, detailsPattern) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof TristageError, `not a TristageError: ${error}`);
    assert.ok(error instanceof Error);
    assert.equal(error.code, code, `code of: ${error.message}`);
    assert.equal(error.codeName, Object.keys(Status).find((name) => Status[name] === code));
    if (detailsPattern) assert.match(error.details, detailsPattern);
    assert.ok(error.message.includes(error.details));
    return true;
  });
}

// A real tristage-server on free ports; stop() ends it (SIGTERM, then SIGKILL after 15 s).
class Daemon {
  static async start(flags) {
    const daemon = new Daemon();
    const args = ['--grpc-port', '0', '--metrics-port', '0', '--http-port', '0', '--bind', '127.0.0.1',
                  ...flags];
    const child = spawn(serverBinary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    daemon.child = child;
    daemon.log = '';
    child.stderr.on('data', (data) => {
      daemon.log = (daemon.log + data).slice(-200000);
    });
    daemon.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    process.on('exit', () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
    const lines = readline.createInterface({ input: child.stdout });
    const seen = await new Promise((resolve, reject) => {
      const out = [];
      const timer = setTimeout(() => reject(new Error(`tristage-server printed no start-up lines in 30 s: ${out}`)), 30000);
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`tristage-server exited (${code ?? signal}) at start:\n${out.join('\n')}\n${daemon.log}`));
      });
      lines.on('line', (line) => {
        out.push(line);
        if (/^http (listening on|disabled)/.test(line)) {
          clearTimeout(timer);
          resolve(out);
        }
      });
    });
    const listening = seen.map((line) => line.match(/^listening on (\S+:\d+)$/)).find(Boolean);
    assert.ok(listening, `no 'listening on' line in ${JSON.stringify(seen)}`);
    assert.ok(seen.some((line) => /^metrics (on |disabled)/.test(line)), `no metrics line: ${seen}`);
    daemon.address = listening[1];
    return daemon;
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill('SIGTERM');
    let timer;
    const killed = new Promise((resolve) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, 15000);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    return this.exited;
  }
}

// ---- the daemon every test uses ----

let work;
let daemon;
let client;
let datasetCsv;
let published = false;

// Tests run in order (a suite's tests run one after another): the first publishes the model the
// others predict with. Hooks live in the suite, where Node 18's runner runs them reliably.
describe('tristage-client against a real tristage-server', () => {
  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tristage-node-client-'));
    for (const dir of ['repository', 'state', 'data', 'local']) fs.mkdirSync(path.join(work, dir));
    fs.writeFileSync(path.join(work, 'token'), `${TOKEN}\n`);
    fs.writeFileSync(path.join(work, 'local', 'config.yaml'), CONFIG);
    datasetCsv = path.join(work, 'local', 'data.csv');
    await run(cliBinary, ['synthesize_dataset', '-c', path.join(work, 'local', 'config.yaml'),
                          '--dataset_size', '300', '--output_path', datasetCsv]);
    daemon = await Daemon.start([
      '--model-repository', path.join(work, 'repository'), '--state-dir', path.join(work, 'state'),
      '--data-root', path.join(work, 'data'), '--cli-binary', cliBinary,
      '--auth-token-file', path.join(work, 'token'), '--job-threads', '1']);
    client = new Client(daemon.address, { token: TOKEN });
  });

  after(async () => {
    if (client) client.close();
    let exit;
    if (daemon) exit = await daemon.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
    if (exit) {
      assert.deepEqual(exit, { code: 0, signal: null },
                       `tristage-server did not shut down cleanly on SIGTERM; its log:\n${daemon.log}`);
    }
  });

  function needsModel() {
    assert.ok(published, `needs model '${MODEL}', which the train job test publishes (it failed)`);
  }

  it('a train job: upload, submit, watch to SUCCEEDED, download, publish, predict', { timeout: 60000 }, async () => {
    const bytes = fs.readFileSync(datasetCsv);
    const upload = await client.uploadDataset(datasetCsv);
    assert.match(upload.dataset, /^upload:.*data\.csv$/);
    assert.equal(upload.sizeBytes, bytes.length);
    assert.equal(upload.sha256, crypto.createHash('sha256').update(bytes).digest('hex'));

    const jobId = await client.submit({ kind: 'train', config: CONFIG, dataset: upload.dataset,
                                        publishModel: MODEL, options: { random_seed: 7 } });
    assert.match(jobId, /\S/);
    const events = [];
    for await (const event of client.watch(jobId)) events.push(event);

    const sequences = events.map((e) => e.sequence);
    assert.deepEqual(sequences, [...sequences].sort((a, b) => a - b), 'events in order');
    assert.equal(new Set(sequences).size, sequences.length, 'each event once');
    const last = events.at(-1);
    assert.equal(last.type, 'state');
    assert.equal(last.state, 'SUCCEEDED', `the job ended ${last.state}: ${last.stateReason}`);
    assert.ok(events.some((e) => e.type === 'state' && e.state === 'RUNNING'), 'a RUNNING event');
    assert.deepEqual(events.filter((e) => e.type === 'progress').map((e) => e.progress.epoch), [1, 2]);
    assert.ok(events.some((e) => e.type === 'log' && e.logLine.length > 0), 'log lines');
    assert.ok(events.filter((e) => e.type === 'progress').every((e) => 'validation_loss' in e.progress.metrics));

    const job = await client.getJob(jobId);
    assert.equal(job.id, jobId);
    assert.equal(job.kind, 'TRAIN');
    assert.equal(job.state, 'SUCCEEDED');
    assert.equal(job.publishModel, MODEL);
    assert.equal(job.publishedVersion, 1);
    assert.equal(job.epoch, 2);
    assert.ok(job.finishedUnixMs >= job.startedUnixMs && job.startedUnixMs >= job.createdUnixMs);
    assert.ok(job.artifacts.includes('experiment_run/model.tar'), `artifacts: ${job.artifacts}`);
    assert.ok(job.artifacts.includes('experiment_run/training_statistics.json'));
    assert.deepEqual((await client.listJobs()).map((j) => j.id), [jobId]);
    assert.deepEqual((await client.listJobs({ state: 'SUCCEEDED' })).map((j) => j.id), [jobId]);
    assert.deepEqual(await client.listJobs({ state: 'RUNNING' }), []);

    const tar = path.join(work, 'local', 'downloads', 'model.tar');
    const saved = await client.download(jobId, 'experiment_run/model.tar', tar);
    assert.equal(saved.bytes, fs.statSync(tar).size);
    const archive = fs.readFileSync(tar);
    assert.equal(archive.subarray(257, 262).toString(), 'ustar', 'a ustar archive');
    assert.ok(archive.includes('model_weights.pt'), 'the archive holds the model weights');
    const statsFile = path.join(work, 'local', 'downloads', 'training_statistics.json');
    await client.download(jobId, 'experiment_run/training_statistics.json', statsFile);
    assert.ok('training' in JSON.parse(fs.readFileSync(statsFile, 'utf8')));
    assert.deepEqual(fs.readdirSync(path.dirname(tar)).sort(), ['model.tar', 'training_statistics.json'],
                     'no partial files left');

    // Published: served as version 1 of MODEL.
    assert.ok(fs.existsSync(path.join(work, 'repository', MODEL, '1')));
    const deadline = Date.now() + 20000;
    while (!(await client.modelReady(MODEL)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await client.health(MODEL), 'SERVING');
    const [row] = await client.predict([{ tenure_months: 12, plan: 'b_alpha', autopay: 'true', notes: 'hello' }],
                                       { model: MODEL });
    assert.ok(['false', 'true'].includes(row.churned_predictions), JSON.stringify(row));
    published = true;
  });

  it('predict (records and columns) equals tristage predict --server on the same rows', async () => {
    needsModel();
    const data = parseCsv(fs.readFileSync(datasetCsv, 'utf8'));
    const rowsCsv = path.join(work, 'local', 'rows.csv');
    const some = { header: data.header, rows: data.rows.slice(0, 40) };
    fs.writeFileSync(rowsCsv, [some.header, ...some.rows].map((r) => r.join(',')).join('\n') + '\n');
    const out = path.join(work, 'local', 'cli_predictions');
    await run(cliBinary, ['predict', '--server', daemon.address, '--model', MODEL, '--dataset', rowsCsv,
                          '-od', out]);
    const expected = parseCsv(fs.readFileSync(path.join(out, 'predictions.csv'), 'utf8'));
    assert.equal(expected.rows.length, 40);
    assert.ok(expected.header.includes('churned_probabilities_true'), `CLI columns: ${expected.header}`);
    assert.ok(expected.header.includes('tier_probability') && expected.header.includes('spend_predictions'));

    // Records as a CSV reader gives them: strings, with the target columns the model ignores.
    const records = toRecords(some);
    const fromRecords = await client.predict(records, { model: MODEL });
    assert.equal(fromRecords.length, 40);
    fromRecords.forEach((row, i) => assertSameAsCli(row, expected.header, expected.rows[i], `records row ${i}`));

    // Columns with typed values: numbers as doubles, booleans as bools.
    const columns = {
      tenure_months: records.map((r) => Number(r.tenure_months)),
      plan: records.map((r) => r.plan),
      autopay: records.map((r) => r.autopay === 'true'),
      notes: records.map((r) => r.notes),
    };
    const fromColumns = await client.predict(columns, { model: MODEL, version: '1' });
    fromColumns.forEach((row, i) => assertSameAsCli(row, expected.header, expected.rows[i], `columns row ${i}`));

    assert.deepEqual(await client.predict([], { model: MODEL }), []);
    // Asking for one output returns only its columns.
    const churnedOnly = await client.predict(records.slice(0, 3), { model: MODEL, outputs: ['churned'] });
    assert.deepEqual(Object.keys(churnedOnly[0]), expected.header.filter((h) => h.startsWith('churned_')));
  });

  it('predictStream: 1,000 requests answered in order, each with its own rows', { timeout: 30000 }, async () => {
    needsModel();
    const records = toRecords(parseCsv(fs.readFileSync(datasetCsv, 'utf8')));
    const expected = await client.predict(records, { model: MODEL });
    // Request i carries 1 to 3 consecutive rows starting at row (i * 7) % 300.
    const requestRows = (i) => Array.from({ length: 1 + (i % 3) }, (_, k) => (i * 7 + k) % records.length);
    async function* requests() {
      for (let i = 0; i < 1000; ++i) {
        if (i % 250 === 0) await new Promise((r) => setImmediate(r));  // an async source
        yield requestRows(i).map((r) => records[r]);
      }
    }
    let i = 0;
    for await (const answer of client.predictStream(requests(), { model: MODEL })) {
      const rows = requestRows(i);
      assert.equal(answer.length, rows.length, `answer ${i}: rows`);
      answer.forEach((row, k) => assertClose(row, expected[rows[k]], `answer ${i} row ${k}`));
      ++i;
    }
    assert.equal(i, 1000);
  });

  it('predictStream: a failing request ends the stream after the answers before it', async () => {
    needsModel();
    const good = [{ tenure_months: '5', plan: 'b_alpha', autopay: 'false', notes: 'x' }];
    const inputs = Array.from({ length: 10 }, (_, i) => (i === 5 ? [{ tenure_months: '5', autopay: 'false', notes: 'x' }] : good));
    const answers = [];
    await expectError((async () => {
      for await (const answer of client.predictStream(inputs, { model: MODEL })) answers.push(answer);
    })(), Status.INVALID_ARGUMENT, /plan/);
    assert.equal(answers.length, 5);

    // Breaking out early cancels the stream; the client stays usable.
    let taken = 0;
    for await (const answer of client.predictStream(Array(50).fill(good), { model: MODEL })) {
      assert.equal(answer.length, 1);
      if (++taken === 3) break;
    }
    assert.equal(taken, 3);
    assert.equal((await client.predict(good, { model: MODEL })).length, 1);
  });

  it('metadata, health and server info', async () => {
    needsModel();
    const metadata = await client.metadata(MODEL);
    assert.equal(metadata.modelName, MODEL);
    assert.equal(metadata.modelVersion, '1');
    assert.ok(metadata.maxBatchSize > 0);
    assert.deepEqual(metadata.inputs.map((i) => [i.name, i.column, i.type]),
                     [['tenure_months', 'tenure_months', 'number'], ['plan', 'plan', 'category'],
                      ['autopay', 'autopay', 'binary'], ['notes', 'notes', 'text']]);
    assert.ok(metadata.inputs[0].accepts.includes('Tensor'));
    assert.deepEqual(metadata.outputs.map((o) => [o.name, o.type]),
                     [['churned', 'binary'], ['tier', 'category'], ['spend', 'number']]);
    assert.deepEqual(metadata.outputs[0].classNames, ['false', 'true']);
    assert.ok(metadata.outputs[1].classNames.includes('class_alpha'));
    assert.deepEqual(await client.metadata(MODEL, 1), metadata);

    assert.equal(await client.health(), 'SERVING');
    assert.equal(await client.health('tristage.v1.Inference'), 'SERVING');
    assert.equal(await client.serverLive(), true);
    assert.equal(await client.serverReady(), true);
    assert.deepEqual((await client.repositoryIndex()).map((m) => [m.name, m.version, m.state]),
                     [[MODEL, '1', 'READY']]);
    const info = await client.serverInfo();
    const { stdout } = await run(cliBinary, ['version']);
    assert.ok(info.version.length > 0 && stdout.includes(info.version), `${info.version} vs ${stdout}`);
    assert.equal(fs.realpathSync(info.modelRepository), fs.realpathSync(path.join(work, 'repository')));
    assert.ok(info.startTimeUnixS * 1000 <= Date.now());
    assert.ok(info.system.hardwareThreads > 0);
  });

  it('errors: NOT_FOUND, INVALID_ARGUMENT, UNAUTHENTICATED, UNAVAILABLE', async () => {
    needsModel();
    const row = { tenure_months: '5', plan: 'b_alpha', autopay: 'false', notes: 'x' };
    await expectError(client.predict([row], { model: 'no_such_model' }), Status.NOT_FOUND, /no_such_model/);
    await expectError(client.metadata('no_such_model'), Status.NOT_FOUND);
    await expectError(client.predict([row], { model: MODEL, version: '7' }), Status.NOT_FOUND);
    await expectError(client.health('no_such_service'), Status.NOT_FOUND);
    await expectError(client.getJob('j999999'), Status.NOT_FOUND);

    const { plan, ...withoutPlan } = row;
    assert.ok(plan);
    await expectError(client.predict([withoutPlan, withoutPlan], { model: MODEL }), Status.INVALID_ARGUMENT, /plan/);
    await expectError(client.predict({ tenure_months: ['1'], autopay: ['true'], notes: ['x'] }, { model: MODEL }),
                      Status.INVALID_ARGUMENT, /plan/);
    // A feature only some rows have is refused by the client, naming the row.
    await expectError(client.predict([row, withoutPlan], { model: MODEL }), Status.INVALID_ARGUMENT, /row 1 .*plan/);
    await expectError(client.predict([{ ...row, tenure_months: 'twelve' }], { model: MODEL }),
                      Status.INVALID_ARGUMENT, /tenure_months/);

    for (const token of ['wrong-token', '']) {
      const stranger = new Client(daemon.address, { token });
      try {
        await expectError(stranger.listJobs(), Status.UNAUTHENTICATED);
        await expectError(stranger.serverInfo(), Status.UNAUTHENTICATED);
        await expectError(stranger.uploadDataset(Buffer.from('a\n1\n'), { name: 'x.csv' }), Status.UNAUTHENTICATED);
        assert.equal((await stranger.predict([row], { model: MODEL })).length, 1, 'inference needs no token');
      } finally {
        stranger.close();
      }
    }

    const nobody = new Client('127.0.0.1:1', { timeout: 5000 });
    try {
      await expectError(nobody.health(), Status.UNAVAILABLE);
    } finally {
      nobody.close();
    }
    const closed = new Client(daemon.address, { token: TOKEN });
    closed.close();
    await expectError(closed.health(), Status.CANCELLED);
  });

  it('TLS: mutual TLS with the client\'s certificate; without it, or in plaintext, no connection', { timeout: 30000 }, async () => {
    const pki = path.join(work, 'pki');
    fs.mkdirSync(pki);
    const openssl = (...args) => run('openssl', args, { cwd: pki });
    await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1',
                  '-subj', '/CN=tristage-node-test-ca');
    fs.writeFileSync(path.join(pki, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    for (const [name, extra] of [['server', ['-extfile', 'san.ext']], ['client', []]]) {
      await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`,
                    '-subj', `/CN=${name}`);
      await openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
                    '-out', `${name}.pem`, '-days', '1', ...extra);
    }
    const pem = (name) => fs.readFileSync(path.join(pki, name));
    const secure = await Daemon.start(['--tls-cert', path.join(pki, 'server.pem'), '--tls-key', path.join(pki, 'server.key'),
                                       '--tls-client-ca', path.join(pki, 'ca.pem')]);
    const clients = [];
    const connect = (options) => {
      const c = new Client(secure.address, { timeout: 5000, ...options });
      clients.push(c);
      return c;
    };
    try {
      const mtls = connect({ tls: { rootCerts: pem('ca.pem'), privateKey: pem('client.key'), certChain: pem('client.pem') } });
      assert.equal(await mtls.health(), 'SERVING');
      assert.equal(await mtls.serverLive(), true);
      await expectError(connect({ tls: { rootCerts: pem('ca.pem') } }).health(), Status.UNAVAILABLE);
      await expectError(connect({}).health(), Status.UNAVAILABLE);
    } finally {
      for (const c of clients) c.close();
      assert.deepEqual(await secure.stop(), { code: 0, signal: null }, secure.log);
    }
  });

  it('cancel: a running job ends CANCELLED', { timeout: 30000 }, async () => {
    needsModel();
    const upload = await client.uploadDataset(fs.readFileSync(datasetCsv), { name: 'again.csv' });
    assert.match(upload.dataset, /again\.csv$/);
    const jobId = await client.submit({ kind: 'train', config: CONFIG.replace('epochs: 2', 'epochs: 100000'),
                                        dataset: upload.dataset });
    for await (const event of client.watch(jobId)) {
      if (event.type === 'progress') break;  // running and training: stop watching, cancel
      assert.notEqual(event.state, 'FAILED', event.stateReason);
    }
    const answer = await client.cancel(jobId);
    assert.equal(answer.id, jobId);
    const job = await client.waitForJob(jobId);
    assert.equal(job.state, 'CANCELLED', job.reason);
    await expectError(client.submit({ kind: 'train', config: CONFIG, dataset: 'upload:nope/x.csv' }),
                      Status.NOT_FOUND);
    // worldSize reaches the daemon, whose job CPU budget (--job-threads 1) holds one worker.
    await expectError(client.submit({ kind: 'train', config: CONFIG, dataset: upload.dataset, worldSize: 2 }),
                      Status.INVALID_ARGUMENT, /world_size: 2 exceeds .*--job-threads 1/);
    await assert.rejects(client.submit({ kind: 'train', config: CONFIG, worldSize: 1.5 }), TypeError);
    assert.equal(job.worldSize, 1);
  });

  it('the packed npm package carries the .proto files and works outside the checkout', { timeout: 60000 }, async () => {
    // Packs a copy of the package laid out as in the repository (client/node beside ../../proto),
    // so that packing writes nothing into the source tree.
    const tree = path.join(work, 'pack', 'tree');
    const copy = path.join(tree, 'client', 'node');
    fs.mkdirSync(copy, { recursive: true });
    for (const name of ['package.json', 'package-lock.json', 'index.js', 'index.d.ts', 'README.md', 'lib', 'scripts']) {
      fs.cpSync(path.join(packageDir, name), path.join(copy, name), { recursive: true });
    }
    fs.cpSync(path.join(repo, 'proto'), path.join(tree, 'proto'), { recursive: true });
    const out = path.join(work, 'pack', 'out');
    fs.mkdirSync(out);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const env = { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false',
                  npm_config_fund: 'false', npm_config_audit: 'false' };
    await run(npm, ['pack', '--pack-destination', out], { cwd: copy, env });
    const [tarball] = fs.readdirSync(out);
    assert.match(tarball, /^tristage-client-.*\.tgz$/);
    assert.ok(!fs.existsSync(path.join(copy, 'proto')), 'postpack removes the copied protos');

    const unpacked = path.join(work, 'pack', 'installed');
    fs.mkdirSync(unpacked);
    await run('tar', ['-xzf', path.join(out, tarball), '-C', unpacked]);
    const installed = path.join(unpacked, 'package');
    for (const file of ['tristage/v1/admin.proto', 'tristage/v1/inference.proto', 'inference/grpc_service.proto',
                        'grpc/health/v1/health.proto']) {
      assert.ok(fs.existsSync(path.join(installed, 'proto', file)), `${file} in the package`);
    }
    assert.ok(!fs.existsSync(path.join(installed, 'node_modules')));
    fs.symlinkSync(path.join(packageDir, 'node_modules'), path.join(installed, 'node_modules'));
    const script = `const { Client } = require(${JSON.stringify(installed)});
      const c = new Client(${JSON.stringify(daemon.address)});
      c.health().then((s) => { console.log(require(${JSON.stringify(path.join(installed, 'lib', 'protos.js'))}).findProtoDir(), s); c.close(); });`;
    const { TRISTAGE_PROTO_DIR, ...cleanEnv } = process.env;
    assert.equal(TRISTAGE_PROTO_DIR, undefined, 'TRISTAGE_PROTO_DIR must not be set for this test');
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: os.tmpdir(), env: cleanEnv });
    assert.equal(stdout.trim(), `${path.join(installed, 'proto')} SERVING`);
  });
});
