'use strict';
// Validates Kubernetes objects against the API schema, offline (no cluster, no discovery):
//   node validate_manifests.js OBJECTS.json
// OBJECTS.json is a list of {"source": "...", "object": {...}} (kubernetes_test.py writes it from
// `kubectl kustomize` output). Two checks per object, both from the pinned npm packages of
// package-lock.json:
//  1. kubernetes-models' validators (ajv code generated from the Kubernetes OpenAPI schema, and the
//     Prometheus Operator's CRD schema for ServiceMonitor): types, required fields, enums, formats.
//  2. The same models' TypeScript interfaces, through the TypeScript compiler: every object as a
//     typed literal, so a field the API does not have (a typo, a field at the wrong level) is an
//     error, as the API server's strict field validation (kubectl's default) makes it. The
//     OpenAPI schema alone allows unknown fields.
// Prints one line per problem and exits 1 if there is any, 0 otherwise; 2 when the npm packages
// are not installed as locked.
const fs = require('node:fs');
const path = require('node:path');

const here = __dirname;
const { installProblem } = require(path.join(here, '..', '..', 'scripts', 'check-npm-install.js'));

// apiVersion -> module directory of its models. Objects of any other apiVersion are an error:
// the manifests use only these.
const MODEL_DIRS = {
  'v1': 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'batch/v1': 'kubernetes-models/batch/v1',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'policy/v1': 'kubernetes-models/policy/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
};

function describe(entry) {
  const o = entry.object || {};
  return `${entry.source}: ${o.kind}/${(o.metadata || {}).name}`;
}

function modelModule(object) {
  const dir = MODEL_DIRS[object.apiVersion];
  if (!dir || !/^[A-Za-z]+$/.test(object.kind || '')) return null;
  const file = `${dir}/${object.kind}`;
  try {
    require.resolve(file, { paths: [here] });
  } catch {
    return null;
  }
  return file;
}

function validateWithSchemas(entries, problems) {
  for (const entry of entries) {
    const file = modelModule(entry.object);
    if (!file) {
      problems.push(`${describe(entry)}: no schema for apiVersion ${entry.object.apiVersion} kind ${entry.object.kind}`);
      continue;
    }
    const Model = require(require.resolve(file, { paths: [here] }))[entry.object.kind];
    try {
      new Model(entry.object).validate();
    } catch (error) {
      problems.push(`${describe(entry)}: ${error.message}`);
    }
  }
}

// One typed literal per object in a virtual file beside node_modules; the compiler's excess
// property and type errors are mapped back to the object and the JSON line they point at.
function validateWithTypes(entries, problems) {
  const ts = require(require.resolve('typescript', { paths: [here] }));
  const lines = [];
  const owners = [];  // line index -> entry
  const imports = new Map();
  entries.forEach((entry, i) => {
    const file = modelModule(entry.object);
    if (!file) return;  // reported by validateWithSchemas
    const type = `T${imports.size}`;
    if (!imports.has(file)) imports.set(file, type);
    const json = JSON.stringify(entry.object, null, 2).split('\n');
    json[0] = `export const object${i}: ${imports.get(file)} = ${json[0]}`;
    json[json.length - 1] += ';';
    for (const line of json) {
      lines.push(line);
      owners.push(entry);
    }
  });
  const header = [...imports].map(([file, type]) => {
    const kind = path.basename(file);
    return `import type { I${kind} as ${type} } from ${JSON.stringify(file)};`;
  });
  const text = header.concat(lines).join('\n') + '\n';
  const virtual = path.join(here, '__manifests__.ts');
  const options = {
    strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10,
    lib: ['lib.es2020.d.ts'], types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, ...rest) =>
    path.resolve(name) === virtual ? ts.createSourceFile(name, text, version, true)
                                   : getSourceFile(name, version, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === virtual || fileExists(name);
  const program = ts.createProgram([virtual], options, host);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  for (const d of diagnostics) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    if (!d.file || path.resolve(d.file.fileName) !== virtual) {
      problems.push(`typescript: ${message}`);
      continue;
    }
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const index = line - header.length;
    if (index < 0) {
      problems.push(`typescript: ${message}`);
      continue;
    }
    // The compiler names the whole expected type; the first sentence says what is wrong.
    const short = message.length > 300 ? `${message.slice(0, 300)}...` : message;
    problems.push(`${describe(owners[index])}: at \`${lines[index].trim()}\`: ${short}`);
  }
}

function main() {
  const problem = installProblem(here);
  if (problem) {
    console.error(`${here}: ${problem}. Run scripts/install-deps (or npm ci in ${here}).`);
    process.exit(2);
  }
  const entries = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const problems = [];
  validateWithSchemas(entries, problems);
  validateWithTypes(entries, problems);
  for (const p of problems) console.log(p);
  console.error(`validate_manifests: ${entries.length} objects, ${problems.length} problems`);
  process.exit(problems.length === 0 ? 0 : 1);
}

main();
