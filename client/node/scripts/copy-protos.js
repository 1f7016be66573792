'use strict';
// prepack: copies the repository's .proto files into <package>/proto so that a packed package
// (npm pack / npm publish) works outside the tristage checkout; lib/protos.js looks there first.
// postpack (--remove): deletes the copy again, so that a checkout always loads the repository's
// own proto/ and never a stale copy.
const fs = require('node:fs');
const path = require('node:path');
const PROTO_FILES = require('../lib/proto-files');

const packageDir = path.resolve(__dirname, '..');
const source = path.resolve(packageDir, '..', '..', 'proto');
const target = path.join(packageDir, 'proto');

if (process.argv.includes('--remove')) {
  fs.rmSync(target, { recursive: true, force: true });
} else {
  for (const file of PROTO_FILES) {
    fs.mkdirSync(path.dirname(path.join(target, file)), { recursive: true });
    fs.copyFileSync(path.join(source, file), path.join(target, file));
  }
  console.log(`copied ${PROTO_FILES.length} .proto files from ${source} to ${target}`);
}
