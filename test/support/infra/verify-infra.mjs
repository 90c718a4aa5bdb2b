#!/usr/bin/env node
// Proves that the real servers of test/support/infra work for what esflow needs, and measures
// them. Run from the repo root (needs kafkajs and @kafkajs/confluent-schema-registry installed):
//   node test/support/infra/verify-infra.mjs            # everything
//   node test/support/infra/verify-infra.mjs kafka      # only the broker checks
//   node test/support/infra/verify-infra.mjs registry   # only the schema registry checks
// It starts and stops its own servers, prints one line per check and a closing
// "N passed, N failed" line, and exits non-zero on any failure.

import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { startKafkaBroker } from './kafka-broker.mjs';
import { startSchemaRegistry } from './schema-registry.mjs';
import { rssMiB } from './infra-common.mjs';

const only = process.argv[2];
let passed = 0;
let failed = 0;
const notes = [];

function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ` -- ${detail}` : ''}`);
}
function note(text) {
  notes.push(text);
  console.log(`NOTE ${text}`);
}
const ms = (t0) => Math.round(performance.now() - t0);

async function verifyKafka() {
  const { Kafka, logLevel } = await import('kafkajs');
  let t0 = performance.now();
  const broker = await startKafkaBroker();
  note(
    `kafka: started in ${ms(t0)} ms at ${broker.brokers[0]} (pid ${broker.pid}, RSS ${rssMiB(broker.pid)} MiB)`,
  );
  const kafka = new Kafka({
    clientId: 'esflow-verify',
    brokers: broker.brokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    check(
      'kafka: describeCluster lists one broker',
      cluster.brokers.length === 1,
      JSON.stringify(cluster.brokers),
    );

    // (a) transactions: 2 committed, 1 aborted, then a committed marker.
    const topic = 'verify-tx';
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer({
      idempotent: true,
      transactionalId: 'verify-tx-producer',
      maxInFlightRequests: 1,
    });
    await producer.connect();
    t0 = performance.now();
    const tx1 = await producer.transaction();
    await tx1.send({
      topic,
      messages: [
        { key: 'k', value: 'committed-1' },
        { key: 'k', value: 'committed-2' },
      ],
    });
    await tx1.commit();
    const tx2 = await producer.transaction();
    await tx2.send({ topic, messages: [{ key: 'k', value: 'aborted-1' }] });
    await tx2.abort();
    const tx3 = await producer.transaction();
    await tx3.send({ topic, messages: [{ key: 'k', value: 'marker' }] });
    await tx3.commit();
    note(`kafka: first three transactions (incl. __transaction_state creation) took ${ms(t0)} ms`);
    await producer.disconnect();

    const readAll = async (readUncommitted, until, groupId) => {
      const consumer = kafka.consumer({ groupId, readUncommitted });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const seen = [];
      await new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out; saw ${JSON.stringify(seen)}`)),
          30_000,
        );
        consumer
          .run({
            eachMessage: async ({ message }) => {
              seen.push(message.value.toString());
              if (seen.includes(until)) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
      await consumer.disconnect();
      return seen;
    };
    t0 = performance.now();
    const committed = await readAll(false, 'marker', 'verify-read-committed');
    check(
      '(a) read_committed consumer sees exactly the 2 committed messages (then the committed marker)',
      JSON.stringify(committed) === JSON.stringify(['committed-1', 'committed-2', 'marker']),
      `${JSON.stringify(committed)} in ${ms(t0)} ms`,
    );
    const uncommitted = await readAll(true, 'marker', 'verify-read-uncommitted');
    check(
      '(a) read_uncommitted consumer also sees the aborted message (it did reach the log)',
      JSON.stringify(uncommitted) ===
        JSON.stringify(['committed-1', 'committed-2', 'aborted-1', 'marker']),
      JSON.stringify(uncommitted),
    );

    // (e) kcat, if installed, reads the same topic.
    const kcat = (args) =>
      new Promise((resolve) =>
        execFile('kcat', args, { timeout: 30_000 }, (err, stdout, stderr) =>
          resolve({ err, stdout, stderr }),
        ),
      );
    const probe = await kcat(['-V']);
    if (probe.err) {
      note('(e) kcat not on PATH: skipped (apt-get install -y kcat)');
    } else {
      const base = [
        '-b',
        broker.brokers[0],
        '-C',
        '-t',
        topic,
        '-o',
        'beginning',
        '-e',
        '-q',
        '-f',
        '%s\\n',
      ];
      const rc = await kcat([...base, '-X', 'isolation.level=read_committed']);
      check(
        '(e) kcat read_committed reads the topic without the aborted message',
        !rc.err && rc.stdout.trim().split('\n').join(',') === 'committed-1,committed-2,marker',
        rc.err ? `${rc.err.message} ${rc.stderr}` : rc.stdout.trim().split('\n').join(','),
      );
      // librdkafka's default isolation.level is read_committed already.
      const ru = await kcat([...base, '-X', 'isolation.level=read_uncommitted']);
      check(
        '(e) kcat read_uncommitted reads all 4 records',
        !ru.err && ru.stdout.trim().split('\n').length === 4,
        ru.err ? `${ru.err.message} ${ru.stderr}` : ru.stdout.trim().split('\n').join(','),
      );
    }

    // (b) restart keeps data; and a crash (SIGKILL) + restart keeps it too.
    const durable = 'verify-durable';
    await admin.createTopics({
      topics: [{ topic: durable, numPartitions: 1 }],
      waitForLeaders: true,
    });
    const p2 = kafka.producer();
    await p2.connect();
    await p2.send({
      topic: durable,
      acks: -1,
      messages: [1, 2, 3].map((i) => ({ value: `before-restart-${i}` })),
    });
    await p2.disconnect();
    await admin.disconnect();
    const pidBefore = broker.pid;
    t0 = performance.now();
    await broker.restart();
    const restartMs = ms(t0);
    const offsetsAfterRestart = await (async () => {
      const a = kafka.admin();
      await a.connect();
      const o = await a.fetchTopicOffsets(durable);
      await a.disconnect();
      return o;
    })();
    check(
      '(b) restart(): same address, new pid, data kept',
      broker.pid !== pidBefore && offsetsAfterRestart[0]?.high === '3',
      `graceful restart in ${restartMs} ms, high watermark ${offsetsAfterRestart[0]?.high}, address ${broker.brokers[0]}`,
    );
    const p3 = kafka.producer();
    await p3.connect();
    await p3.send({ topic: durable, acks: -1, messages: [{ value: 'before-crash' }] });
    await p3.disconnect();
    broker.kill('SIGKILL');
    t0 = performance.now();
    await broker.restart();
    const crashRestartMs = ms(t0);
    const c = kafka.consumer({ groupId: 'verify-durable-reader' });
    await c.connect();
    await c.subscribe({ topic: durable, fromBeginning: true });
    const got = [];
    await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out; saw ${JSON.stringify(got)}`)),
        30_000,
      );
      c.run({
        eachMessage: async ({ message }) => {
          got.push(message.value.toString());
          if (got.length === 4) {
            clearTimeout(timer);
            resolve();
          }
        },
      }).catch(reject);
    });
    await c.disconnect();
    check(
      '(b) kill(SIGKILL) + restart(): all 4 records still readable',
      got.join(',') === 'before-restart-1,before-restart-2,before-restart-3,before-crash',
      `restart after crash in ${crashRestartMs} ms; ${got.join(',')}`,
    );

    // A bit of load, to measure RSS after work rather than idle.
    const p4 = kafka.producer();
    await p4.connect();
    for (let i = 0; i < 20; i++) {
      await p4.send({
        topic: durable,
        messages: Array.from({ length: 500 }, (_, j) => ({ value: `load-${i}-${j}` })),
      });
    }
    await p4.disconnect();
    note(`kafka: RSS after 10k messages and 2 restarts: ${rssMiB(broker.pid)} MiB`);
  } finally {
    await admin.disconnect().catch(() => {});
    t0 = performance.now();
    await broker.stop();
    note(`kafka: stop() took ${ms(t0)} ms`);
  }
}

async function verifyRegistry() {
  const { SchemaRegistry, SchemaType, COMPATIBILITY } = await import(
    '@kafkajs/confluent-schema-registry'
  );
  let t0 = performance.now();
  const sr = await startSchemaRegistry();
  note(`registry: started in ${ms(t0)} ms at ${sr.url} (pid ${sr.pid}, RSS ${rssMiB(sr.pid)} MiB)`);
  const CT = 'application/vnd.schemaregistry.v1+json';
  const call = async (method, p, body) => {
    const res = await fetch(`${sr.url}${p}`, {
      method,
      headers: { 'content-type': CT, accept: CT },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json };
  };
  const rec = (name, fields) =>
    JSON.stringify({ type: 'record', name, namespace: 'esflow.verify', fields });

  try {
    // Defaults before anything is set.
    const globalCfg = await call('GET', '/config');
    note(`registry: default global config: ${globalCfg.status} ${JSON.stringify(globalCfg.json)}`);
    const unknownCfg = await call('GET', '/config/no-such-subject');
    note(
      `registry: GET /config/{unknown subject}: ${unknownCfg.status} ${JSON.stringify(unknownCfg.json)}`,
    );

    // (c) the kafkajs client: register, fetch by id, encode/decode.
    const registry = new SchemaRegistry({ host: sr.url });
    const v1 = rec('OrderPlaced', [
      { name: 'orderId', type: 'string' },
      { name: 'amount', type: 'int' },
    ]);
    let id;
    try {
      ({ id } = await registry.register(
        { type: SchemaType.AVRO, schema: v1 },
        { subject: 'orders-value' },
      ));
      check(
        '(c) client register() with default options (BACKWARD)',
        typeof id === 'number',
        `id ${id}`,
      );
    } catch (e) {
      check(
        '(c) client register() with default options (BACKWARD)',
        false,
        `${e.name}: ${e.message}`,
      );
      ({ id } = await registry.register(
        { type: SchemaType.AVRO, schema: v1 },
        { subject: 'orders-value', compatibility: COMPATIBILITY.NONE },
      ));
    }
    const cfgAfter = await call('GET', '/config/orders-value');
    note(`registry: subject config after client register(): ${JSON.stringify(cfgAfter.json)}`);
    const fresh = new SchemaRegistry({ host: sr.url }); // empty cache: really fetches by id
    const schema = await fresh.getSchema(id);
    check(
      '(c) getSchema(id) returns the schema',
      schema?.name === 'esflow.verify.OrderPlaced',
      String(schema?.name),
    );
    const payload = { orderId: 'o-1', amount: 42 };
    const buf = await registry.encode(id, payload);
    const decoded = await fresh.decode(buf);
    check(
      '(c) encode/decode round trip (Confluent wire format: magic 0 + 4-byte id)',
      JSON.stringify(decoded) === JSON.stringify(payload) &&
        buf[0] === 0 &&
        buf.readInt32BE(1) === id,
      JSON.stringify(decoded),
    );
    const again = await registry.register(
      { type: SchemaType.AVRO, schema: v1 },
      { subject: 'orders-value', compatibility: COMPATIBILITY.BACKWARD },
    );
    check(
      '(c) registering the same schema again returns the same id',
      again.id === id,
      `${again.id} vs ${id}`,
    );
    const other = await call('POST', '/subjects/other-subject/versions', { schema: v1 });
    note(
      `registry: same schema under another subject -> id ${JSON.stringify(other.json)} (first subject: ${id})`,
    );
    check('(c) latest id by subject', (await fresh.getLatestSchemaId('orders-value')) === id);
    const byVersion = await fresh.getRegistryId('orders-value', 1);
    check('(c) getRegistryId(subject, 1)', byVersion === id, String(byVersion));

    // (d) compatibility endpoint under each level.
    const compat = async (subject, schemaText, verbose = false) =>
      call(
        'POST',
        `/compatibility/subjects/${subject}/versions/latest${verbose ? '?verbose=true' : ''}`,
        {
          schema: schemaText,
        },
      );
    const base = rec('Customer', [
      { name: 'id', type: 'string' },
      { name: 'name', type: 'string' },
    ]);
    const addWithDefault = rec('Customer', [
      { name: 'id', type: 'string' },
      { name: 'name', type: 'string' },
      { name: 'email', type: 'string', default: '' },
    ]);
    const addNoDefault = rec('Customer', [
      { name: 'id', type: 'string' },
      { name: 'name', type: 'string' },
      { name: 'email', type: 'string' },
    ]);
    const removeName = rec('Customer', [{ name: 'id', type: 'string' }]);
    const changeType = rec('Customer', [
      { name: 'id', type: 'int' },
      { name: 'name', type: 'string' },
    ]);
    const subj = 'customers-value';
    const reg = await call('POST', `/subjects/${subj}/versions`, { schema: base });
    check(
      '(d) POST /subjects/{s}/versions registers',
      reg.status === 200 && typeof reg.json.id === 'number',
      JSON.stringify(reg.json),
    );
    const noCfg = await call('GET', `/config/${subj}`);
    note(
      `registry: GET /config/{s} for a subject registered over HTTP without config: ${noCfg.status} ${JSON.stringify(noCfg.json)}`,
    );

    // expected[level] = [addWithDefault, addNoDefault, removeName, changeType]
    const expected = {
      BACKWARD: [true, false, true, false],
      FORWARD: [true, true, false, false],
      FULL: [true, false, false, false],
      NONE: [true, true, true, true],
      BACKWARD_TRANSITIVE: [true, false, true, false],
      FORWARD_TRANSITIVE: [true, true, false, false],
      FULL_TRANSITIVE: [true, false, false, false],
    };
    const candidates = { addWithDefault, addNoDefault, removeName, changeType };
    for (const [level, exp] of Object.entries(expected)) {
      const put = await call('PUT', `/config/${subj}`, { compatibility: level });
      const get = await call('GET', `/config/${subj}`);
      const setOk = put.status === 200 && get.json?.compatibilityLevel === level;
      const got = [];
      for (const cand of Object.values(candidates))
        got.push((await compat(subj, cand)).json?.is_compatible);
      check(
        `(d) ${level}: PUT/GET /config/{s} and is_compatible for [addWithDefault, addNoDefault, removeName, changeType]`,
        setOk && JSON.stringify(got) === JSON.stringify(exp),
        `PUT ${put.status} ${JSON.stringify(put.json)}; GET ${JSON.stringify(get.json)}; got ${JSON.stringify(got)} expected ${JSON.stringify(exp)}`,
      );
    }

    // verbose=true
    await call('PUT', `/config/${subj}`, { compatibility: 'BACKWARD' });
    const verbose = await compat(subj, addNoDefault, true);
    note(
      `registry: ?verbose=true on an incompatible change: ${verbose.status} ${JSON.stringify(verbose.json)}`,
    );
    check(
      '(d) ?verbose=true is accepted',
      verbose.status === 200 && verbose.json.is_compatible === false,
    );
    const verboseOk = await compat(subj, addWithDefault, true);
    note(`registry: ?verbose=true on a compatible change: ${JSON.stringify(verboseOk.json)}`);

    // Register enforcement: an incompatible schema is refused under BACKWARD.
    const bad = await call('POST', `/subjects/${subj}/versions`, { schema: addNoDefault });
    check(
      '(d) registering an incompatible version under BACKWARD is refused (409)',
      bad.status === 409,
      `${bad.status} ${JSON.stringify(bad.json)}`,
    );

    // TRANSITIVE levels: v1 {id}, v2 {id, x default 0}; candidate {id, x (no default)} is
    // backward compatible with v2 only.
    const ts = 'transitive-value';
    await call('POST', `/subjects/${ts}/versions`, {
      schema: rec('T', [{ name: 'id', type: 'string' }]),
    });
    await call('PUT', `/config/${ts}`, { compatibility: 'BACKWARD' });
    const v2 = await call('POST', `/subjects/${ts}/versions`, {
      schema: rec('T', [
        { name: 'id', type: 'string' },
        { name: 'x', type: 'int', default: 0 },
      ]),
    });
    check('(d) transitive setup: v2 registered', v2.status === 200, JSON.stringify(v2.json));
    const cand = rec('T', [
      { name: 'id', type: 'string' },
      { name: 'x', type: 'int' },
    ]);
    // Like Confluent's, /versions/{version} (and /versions/latest) checks against that one
    // version whatever the level; /versions (no version) checks against all of them when the
    // level is TRANSITIVE; registration applies the level to all versions.
    const latestB = (await compat(ts, cand)).json?.is_compatible;
    const allB = (await call('POST', `/compatibility/subjects/${ts}/versions`, { schema: cand }))
      .json?.is_compatible;
    await call('PUT', `/config/${ts}`, { compatibility: 'BACKWARD_TRANSITIVE' });
    const latestBT = (await compat(ts, cand)).json?.is_compatible;
    const allBT = await call('POST', `/compatibility/subjects/${ts}/versions`, { schema: cand });
    const v1BT = (await call('POST', `/compatibility/subjects/${ts}/versions/1`, { schema: cand }))
      .json?.is_compatible;
    check(
      '(d) TRANSITIVE: /versions/latest checks the latest only, /versions (all) and /versions/1 see the break with v1',
      latestB === true &&
        latestBT === true &&
        allBT.json?.is_compatible === false &&
        v1BT === false,
      `BACKWARD: latest ${latestB}; BACKWARD_TRANSITIVE: latest ${latestBT}, all ${allBT.status} ${JSON.stringify(allBT.json)}, v1 ${v1BT}`,
    );
    // Confluent applies a non-transitive level to the latest version only, even on /versions.
    note(
      `registry: POST /compatibility/subjects/{s}/versions (all) under plain BACKWARD: is_compatible ${allB} (Confluent would say true)`,
    );
    const regBT = await call('POST', `/subjects/${ts}/versions`, { schema: cand });
    await call('PUT', `/config/${ts}`, { compatibility: 'BACKWARD' });
    const regB = await call('POST', `/subjects/${ts}/versions`, { schema: cand });
    check(
      '(d) registration: refused under BACKWARD_TRANSITIVE (breaks v1), accepted under BACKWARD (fits v2)',
      regBT.status === 409 && regB.status === 200,
      `BACKWARD_TRANSITIVE ${regBT.status} ${JSON.stringify(regBT.json)}; BACKWARD ${regB.status} ${JSON.stringify(regB.json)}`,
    );

    // Level set before the subject exists.
    const early = 'configured-first-value';
    const earlyPut = await call('PUT', `/config/${early}`, { compatibility: 'FULL' });
    note(
      `registry: PUT /config/{s} before the subject exists: ${earlyPut.status} ${JSON.stringify(earlyPut.json)}`,
    );
    if (earlyPut.status === 200) {
      await call('POST', `/subjects/${early}/versions`, { schema: base });
      const earlyGet = await call('GET', `/config/${early}`);
      const earlyCompat = (await compat(early, removeName)).json?.is_compatible;
      note(
        `registry: ... after registering: GET /config/{s} ${JSON.stringify(earlyGet.json)}, removeName compatible: ${earlyCompat}`,
      );
    }

    // The kafkajs client on a subject that exists without a subject-level config.
    try {
      const r = await fresh.register(
        { type: SchemaType.AVRO, schema: v1 },
        { subject: 'other-subject' },
      );
      note(
        `registry: client register() (default BACKWARD) on an existing subject without own config: ok, id ${r.id}`,
      );
    } catch (e) {
      note(
        `registry: client register() (default BACKWARD) on an existing subject without own config: ${e.name}: ${e.message}`,
      );
    }

    // Compatibility against a subject that does not exist.
    const missing = await compat('never-registered', base);
    note(
      `registry: compatibility check against a missing subject: ${missing.status} ${JSON.stringify(missing.json)}`,
    );

    // Global level: applies to subjects without their own.
    const gput = await call('PUT', '/config', { compatibility: 'BACKWARD' });
    const g2 = 'global-default-value';
    await call('POST', `/subjects/${g2}/versions`, { schema: base });
    const gcompat = (await compat(g2, addNoDefault)).json?.is_compatible;
    check(
      '(d) PUT /config (global) BACKWARD applies to a subject without its own level',
      gput.status === 200 && gcompat === false,
      `PUT ${gput.status} ${JSON.stringify(gput.json)}; addNoDefault -> ${gcompat}`,
    );
    const g2cfg = await call('GET', `/config/${g2}`);
    note(
      `registry: GET /config/{s} with only a global level set: ${g2cfg.status} ${JSON.stringify(g2cfg.json)}`,
    );
    const g2cfgDefault = await call('GET', `/config/${g2}?defaultToGlobal=true`);
    note(
      `registry: GET /config/{s}?defaultToGlobal=true: ${g2cfgDefault.status} ${JSON.stringify(g2cfgDefault.json)}`,
    );
    const delCfg = await call('DELETE', `/config/${subj}`);
    note(`registry: DELETE /config/{s}: ${delCfg.status} ${JSON.stringify(delCfg.json)}`);
    await call('PUT', '/config', { compatibility: 'NONE' });

    // ids: global and stable?
    const lookup = await call('POST', `/subjects/${subj}`, { schema: base });
    note(`registry: POST /subjects/{s} (lookup): ${lookup.status} ${JSON.stringify(lookup.json)}`);
    const byId = await call('GET', `/schemas/ids/${reg.json.id}`);
    check(
      '(d) GET /schemas/ids/{id}',
      byId.status === 200 && typeof byId.json.schema === 'string',
      `${byId.status}`,
    );
    const latest = await call('GET', `/subjects/${subj}/versions/latest`);
    note(
      `registry: GET /subjects/{s}/versions/latest: ${latest.status} ${JSON.stringify(latest.json)}`,
    );
    const cfgAfterDelete = await call('GET', `/config/${subj}`);
    note(
      `registry: GET /config/{s} after DELETE /config/{s}: ${cfgAfterDelete.status} ${JSON.stringify(cfgAfterDelete.json)}`,
    );
    const versions = await call('GET', `/subjects/${subj}/versions`);
    note(`registry: GET /subjects/{s}/versions: ${JSON.stringify(versions.json)}`);
    const del = await call('DELETE', `/subjects/${g2}`);
    note(`registry: DELETE /subjects/{s}: ${del.status} ${JSON.stringify(del.json)}`);
    const reReg = await call('POST', `/subjects/${g2}/versions`, { schema: base });
    note(
      `registry: re-registering after delete -> ${JSON.stringify(reReg.json)} (id of the same content before: ${reg.json.id})`,
    );
    const subjects = await call('GET', '/subjects');
    note(`registry: GET /subjects: ${JSON.stringify(subjects.json)}`);
    const mode = await call('GET', '/mode');
    note(`registry: GET /mode: ${mode.status} ${JSON.stringify(mode.json)}`);
    note(`registry: RSS after the checks: ${rssMiB(sr.pid)} MiB`);
  } finally {
    t0 = performance.now();
    await sr.stop();
    note(`registry: stop() took ${ms(t0)} ms`);
  }
}

try {
  if (!only || only === 'kafka') await verifyKafka();
  if (!only || only === 'registry') await verifyRegistry();
} catch (e) {
  failed++;
  console.log(`FAIL unexpected error -- ${e?.stack ?? e}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
