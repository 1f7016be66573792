'use strict';
// Converts between the user's shapes and tristage.v1's columnar messages:
//   encodeInputs: records (an array of objects) or columns (an object of arrays) -> the
//                 PredictRequest.inputs map, one InputColumn per input feature of the model;
//   decodeRows:   PredictResponse.outputs -> records with the columns `tristage predict` writes.

const { Status, TristageError } = require('./errors');

function invalid(message) {
  return new TristageError(Status.INVALID_ARGUMENT, message, { method: 'predict' });
}

function isBytes(value) {
  return value instanceof Uint8Array;  // Buffer is a Uint8Array
}

// True when the feature's preprocessor takes a numeric tensor besides strings (ModelMetadata's
// `accepts`, e.g. ["List[str]", "Tensor"]).
function acceptsNumbers(input) {
  return (input.accepts || []).some((a) => /tensor/i.test(a));
}

// One value -> the bytes of its cell (StringColumn holds bytes: a JavaScript string given to
// protobufjs there would be read as base64).
function toCell(value, where) {
  if (isBytes(value)) return value;
  return Buffer.from(cellText(value, where), 'utf8');
}

function cellText(value, where) {
  if (value === null || value === undefined) return '';  // a missing value, as an empty CSV cell
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return String(value);  // JavaScript's shortest form parses back to the same double
  }
  if (Array.isArray(value)) return value.map((v) => String(v)).join(' ');  // vector, set, bag
  throw invalid(`${where}: cannot send a value of type ${value?.constructor?.name || typeof value}`);
}

// One feature's values (one per row) -> an InputColumn: numbers as doubles, booleans as bools and
// same-length arrays of numbers as a row-major vector where the feature takes them; otherwise
// strings, each value as `toCell` writes it.
function encodeColumn(input, values) {
  if (values.length > 0 && acceptsNumbers(input)) {
    if (values.every((v) => typeof v === 'number')) return { doubles: { values: Array.from(values) } };
    if (values.every((v) => typeof v === 'boolean')) return { bools: { values: Array.from(values) } };
    const width = Array.isArray(values[0]) ? values[0].length : 0;
    if (width > 0 && values.every((v) => Array.isArray(v) && v.length === width &&
                                         v.every((x) => typeof x === 'number'))) {
      return { doubles: { values: values.flat() }, width };
    }
  }
  const strings = Array.from(values, (v, row) => toCell(v, `feature '${input.name}', row ${row}`));
  return { strings: { values: strings } };
}

// The value of `input` in `source`: under its dataset column name first (what a CSV row has),
// then its feature name.
function keyOf(source, input) {
  if (Object.prototype.hasOwnProperty.call(source, input.column)) return input.column;
  if (Object.prototype.hasOwnProperty.call(source, input.name)) return input.name;
  return undefined;
}

// `data`: records or columns; `metadata`: the model's ModelMetadata. Keys that are not an input
// of the model (a target column, an id) are ignored, as `tristage predict` ignores them. A
// feature missing from every row is left out, so the daemon names it (INVALID_ARGUMENT); one
// missing from only some rows is refused here.
function encodeInputs(data, metadata) {
  const inputs = {};
  if (Array.isArray(data)) {
    for (const input of metadata.inputs) {
      let present = 0;
      const values = data.map((record, row) => {
        if (record === null || typeof record !== 'object') throw invalid(`row ${row} is not an object`);
        const key = keyOf(record, input);
        if (key === undefined) return undefined;
        present += 1;
        return record[key];
      });
      if (present === 0) continue;
      if (present !== data.length) {
        const row = data.findIndex((record) => keyOf(record, input) === undefined);
        throw invalid(`row ${row} has no value for feature '${input.name}' (column '${input.column}')`);
      }
      inputs[input.name] = encodeColumn(input, values);
    }
    return { inputs, rows: data.length };
  }
  if (data === null || typeof data !== 'object') {
    throw new TypeError('predict: data must be an array of records or an object of columns');
  }
  let rows;
  for (const input of metadata.inputs) {
    const key = keyOf(data, input);
    if (key === undefined) continue;
    const values = data[key];
    if (!Array.isArray(values) && !ArrayBuffer.isView(values)) {
      throw invalid(`column '${key}' is not an array`);
    }
    if (rows !== undefined && values.length !== rows) {
      throw invalid(`column '${key}' has ${values.length} rows, others have ${rows}`);
    }
    rows = values.length;
    inputs[input.name] = encodeColumn(input, Array.from(values));
  }
  return { inputs, rows: rows ?? 0 };
}

// A float32 received as a double (0.6600027 arrives as 0.6600027084350586) -> the shortest
// decimal that reads back as the same float32, as `tristage predict` writes it.
function shortFloat(value) {
  if (!Number.isFinite(value)) return value;
  for (let precision = 6; precision <= 9; ++precision) {
    const short = Number(value.toPrecision(precision));
    if (Math.fround(short) === value) return short;
  }
  return value;
}

function floats(list) {
  return Array.from(list || [], shortFloat);
}

// One output feature -> its prediction-file columns as [suffix, values per row], in the order
// `tristage predict` writes them (core/features/*.cc, OutputType::columns).
function outputColumns(output) {
  switch (output.type) {
    case 'number':
      return [['_predictions', floats(output.numbers)]];
    case 'vector':
      return [['_predictions', output.vectors.map((row) => floats(row.values))]];
    case 'set':
      return [
        ['_predictions', output.items.map((row) => Array.from(row.values))],
        ['_probabilities', output.itemProbabilities.map((row) => floats(row.values))],
      ];
    default: {  // binary, category, and types newer than this client: their labels
      const columns = [['_predictions', Array.from(output.labels)]];
      const classes = output.classNames;
      if (classes.length === 0) return columns;
      const probabilities = output.probabilities;
      const rows = output.labels.length;
      classes.forEach((name, c) => {
        const column = [];
        for (let row = 0; row < rows; ++row) column.push(shortFloat(probabilities[row * classes.length + c]));
        columns.push([`_probabilities_${name}`, column]);
      });
      columns.push(['_probability', floats(output.probability)]);
      return columns;
    }
  }
}

// PredictResponse -> records: for each output feature (in `order`, the metadata's output order,
// then any others the response has; only those in `wanted` when it is not empty),
// "<feature><suffix>" -> that row's value. The daemon may answer more outputs than asked for
// (it has answered every output after the last one asked for); those are left out.
function decodeRows(response, order, wanted = []) {
  let names = order.filter((name) => name in response.outputs);
  for (const name of Object.keys(response.outputs)) if (!names.includes(name)) names.push(name);
  if (wanted.length > 0) names = names.filter((name) => wanted.includes(name));
  const rows = Array.from({ length: response.rows }, () => ({}));
  for (const name of names) {
    for (const [suffix, values] of outputColumns(response.outputs[name])) {
      if (values.length !== rows.length) {
        throw new TristageError(Status.INTERNAL,
          `output '${name}${suffix}' has ${values.length} values for ${rows.length} rows`,
          { method: 'predict' });
      }
      values.forEach((value, row) => { rows[row][name + suffix] = value; });
    }
  }
  return rows;
}

module.exports = { encodeInputs, decodeRows, shortFloat };
