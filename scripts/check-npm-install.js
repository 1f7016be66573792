'use strict';
// Whether DIR/node_modules holds exactly the packages of DIR/package-lock.json, as `npm ci`
// installs them: every locked package at its locked version, nothing else. npm records what it
// installed in node_modules/.package-lock.json. (client/node/scripts/check-install.js binds it to
// the Node client's directory for that package's own tests.)
//
// As a program, `node scripts/check-npm-install.js DIR`: exits 0 when it matches, 1 printing what
// differs (scripts/install-deps then runs `npm ci` in DIR). As a module: installProblem(dir) ->
// null or the text.
const fs = require('node:fs');
const path = require('node:path');

function readPackages(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8')).packages || {};
}

function installProblem(packageDir) {
  const installedFile = path.join(packageDir, 'node_modules', '.package-lock.json');
  if (!fs.existsSync(installedFile)) {
    return `${path.join(packageDir, 'node_modules')} is missing or was not made by npm ci`;
  }
  const locked = readPackages(path.join(packageDir, 'package-lock.json'));
  const installed = readPackages(installedFile);
  const differences = [];
  for (const [name, entry] of Object.entries(locked)) {
    if (name === '' || entry.optional) continue;
    const have = installed[name];
    if (!have) differences.push(`${name} is not installed`);
    else if (have.version !== entry.version) differences.push(`${name} is ${have.version}, locked ${entry.version}`);
    else if (!fs.existsSync(path.join(packageDir, name, 'package.json'))) differences.push(`${name} is gone`);
  }
  for (const name of Object.keys(installed)) {
    if (!(name in locked)) differences.push(`${name} is installed but not locked`);
  }
  if (differences.length === 0) return null;
  return `node_modules does not match package-lock.json: ${differences.slice(0, 5).join('; ')}` +
         (differences.length > 5 ? ` (and ${differences.length - 5} more)` : '');
}

module.exports = { installProblem };

if (require.main === module) {
  const dir = path.resolve(process.argv[2] || '.');
  const problem = installProblem(dir);
  if (problem) {
    console.error(`${dir}: ${problem}. Run scripts/install-deps (or npm ci in ${dir}).`);
    process.exit(1);
  }
}
