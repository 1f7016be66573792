'use strict';
// ctest client.node.typecheck: `tsc --noEmit -p examples/tsconfig.json` with the TypeScript of
// package-lock.json, after checking that npm ci installed it.
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { installProblem } = require('./check-install');

const packageDir = path.resolve(__dirname, '..');
const problem = installProblem();
if (problem) {
  console.error(`tristage-client: ${problem}. Run scripts/install-deps (or npm ci in ${packageDir}).`);
  process.exit(1);
}
const tsc = path.join(packageDir, 'node_modules', 'typescript', 'bin', 'tsc');
const args = [tsc, '--noEmit', '-p', path.join(packageDir, 'examples', 'tsconfig.json')];
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (result.status === 0) console.log('index.d.ts: examples/usage.ts type-checks');
process.exit(result.status ?? 1);
