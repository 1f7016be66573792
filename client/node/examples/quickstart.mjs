// Predicts with the example model that `scripts/serve` serves ("churn"), one call and one stream.
//   scripts/serve &                      # gRPC on 127.0.0.1:8001
//   node client/node/examples/quickstart.mjs [127.0.0.1:8001]
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Client, Status, TristageError } = require('..');  // require('tristage-client') when installed

const client = new Client(process.argv[2] || '127.0.0.1:8001');
try {
  console.log('server:', await client.health(), 'model churn:', await client.health('churn'));
  const metadata = await client.metadata('churn');
  console.log(`churn version ${metadata.modelVersion} takes`, metadata.inputs.map((i) => i.name).join(', '));

  // Records (a CSV reader's rows; strings or numbers) ...
  const customers = [
    { tenure_months: 12.0378, monthly_charges: 6.8422, plan: 'c_charlie', region: 'd_delta',
      autopay: true, support_notes: 'tango lima north romeo' },
    { tenure_months: '11.8741', monthly_charges: '7.3007', plan: 'c_charlie', region: 'd_charlie',
      autopay: 'false', support_notes: 'amber golf red delta quebec' },
  ];
  for (const row of await client.predict(customers, { model: 'churn' })) {
    console.log(`churned: ${row.churned_predictions} (p=${row.churned_probability})`);
  }
  // ... or columns.
  const columns = Object.fromEntries(Object.keys(customers[0]).map((k) => [k, customers.map((c) => c[k])]));
  console.log('by columns:', (await client.predict(columns, { model: 'churn' }))[0]);

  // Many requests on one stream, answered in order.
  async function* requests() {
    for (let month = 1; month <= 5; ++month) yield [{ ...customers[0], tenure_months: month * 6 }];
  }
  let month = 1;
  for await (const [row] of client.predictStream(requests(), { model: 'churn' })) {
    console.log(`tenure ${month++ * 6} months: p(churn=true) = ${row.churned_probabilities_true}`);
  }

  await client.predict(customers, { model: 'no_such_model' }).catch((error) => {
    if (!(error instanceof TristageError) || error.code !== Status.NOT_FOUND) throw error;
    console.log(`an unknown model: ${error.codeName} (${error.code}): ${error.details}`);
  });
} finally {
  client.close();
}
