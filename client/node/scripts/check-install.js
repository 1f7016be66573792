'use strict';
// Whether client/node/node_modules holds exactly the packages of its package-lock.json: the
// repository's one check (scripts/check-npm-install.js) bound to this package's directory, for the
// Node client's own tests (not packed: package.json's "files" leaves scripts/ out).
//
// As a program: exits 0 when it matches, 1 printing what differs (scripts/install-deps runs
// `npm ci` then; the tests fail with that message). As a module: installProblem() -> null or
// the text.
const path = require('path');
const shared = require(path.join(__dirname, '..', '..', '..', 'scripts', 'check-npm-install.js'));

const packageDir = path.resolve(__dirname, '..');

function installProblem() {
  return shared.installProblem(packageDir);
}

module.exports = { installProblem };

if (require.main === module) {
  const problem = installProblem();
  if (problem) {
    console.error(`tristage-client: ${problem}. Run scripts/install-deps (or npm ci in ${packageDir}).`);
    process.exit(1);
  }
}
