'use strict';
// tristage-client: the Node client library of the tristage daemon. See README.md and index.d.ts.
const { Client } = require('./lib/client');
const { Status, TristageError } = require('./lib/errors');

module.exports = { Client, TristageError, Status };
