#!/usr/bin/env node
// Runs one of the test servers in the foreground for development, with the same recipe the
// tests use (scripts/infra/kafka.sh and scripts/infra/schema-registry.sh call this).
//   node test/support/infra/infra-cli.mjs kafka [--port 9092] [--data-dir DIR]
//   node test/support/infra/infra-cli.mjs schema-registry [--port 8081]
// Prints the address, then waits; Ctrl-C (SIGINT) or SIGTERM stops the server and removes its
// temp files (a --data-dir is kept, and reused next time).

import { isPortFree } from './infra-common.mjs';
import { startKafkaBroker } from './kafka-broker.mjs';
import { startSchemaRegistry } from './schema-registry.mjs';

function usage(code) {
  console.error(
    'usage: infra-cli.mjs kafka [--port N] [--data-dir DIR]\n       infra-cli.mjs schema-registry [--port N]',
  );
  process.exit(code);
}

const [what, ...rest] = process.argv.slice(2);
/** @type {Record<string, string>} */
const flags = {};
for (let i = 0; i < rest.length; i++) {
  const m = /^--([a-z-]+)(?:=(.*))?$/.exec(rest[i]);
  if (!m) usage(2);
  flags[m[1]] = m[2] ?? rest[++i] ?? usage(2);
}

/** The requested port; else the conventional one when it is free; else a free one. */
async function pickPort(conventional) {
  if (flags.port) return Number(flags.port);
  return (await isPortFree(conventional)) ? conventional : undefined;
}

let server;
try {
  if (what === 'kafka') {
    const port = await pickPort(9092);
    server = await startKafkaBroker({ port, logDir: flags['data-dir'] });
    console.log(`Kafka ${server.brokers.join(',')} (pid ${server.pid}, data ${server.logDir})`);
    console.log(`KAFKA_BROKERS=${server.brokers.join(',')}`);
  } else if (what === 'schema-registry') {
    const port = await pickPort(8081);
    server = await startSchemaRegistry({ port });
    console.log(`Apicurio Registry ${server.baseUrl} (pid ${server.pid})`);
    console.log(`SCHEMA_REGISTRY_URL=${server.url}`);
  } else {
    usage(2);
  }
} catch (e) {
  console.error(e?.message ?? e);
  process.exit(1);
}
console.log('Ctrl-C to stop.');

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.on('SIGHUP', stop);
// Keep the event loop alive until a signal arrives.
setInterval(() => {}, 1 << 30);
