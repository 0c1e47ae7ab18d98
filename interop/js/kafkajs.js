// kafkajs 2.2.4 against Tidemark, driven by interop/kafkajs_test.go.
//
// Input (stdin, JSON): {brokers: [host:port], topic, partitions,
// replicationFactor, groups: [groupId, groupId], records: [{key, value,
// partition}], waitMs}.
// Output (stdout, JSON): {created, acked: [{key, value, partition, offset}],
// reads: {groupId: [{key, value, partition, offset}]}, error}.
//
// Steps: admin createTopics (waitForLeaders), one producer send per record
// to its explicit partition (acks all) with the value as JSON, then every
// group consumes the topic from the beginning, concurrently, each stopping
// when it has read as many records as were acknowledged or after waitMs.
// Any failure is reported in "error" with what was done so far; the exit
// code is 0 whenever the JSON was written.
'use strict';

// DISCONNECT_MS bounds a consumer's disconnect (leave group, commit).
const DISCONNECT_MS = 10000;

const { Kafka, logLevel } = require('kafkajs');

function readStdin() {
  return new Promise((resolve, reject) => {
    let data = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (c) => { data += c; });
    process.stdin.on('end', () => resolve(JSON.parse(data)));
    process.stdin.on('error', reject);
  });
}

// Client log lines go to stderr (printed by the Go side on failure).
const logCreator = () => ({ namespace, level, log }) => {
  const { message, ...extra } = log;
  process.stderr.write(`kafkajs ${logLevel[level] || level} [${namespace}] ${message} ${JSON.stringify(extra)}\n`);
};

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function consumeGroup(kafka, input, groupId, want) {
  const read = [];
  const consumer = kafka.consumer({ groupId, retry: { retries: 3 } });
  let crashed = null;
  consumer.on(consumer.events.CRASH, (e) => { crashed = e.payload.error; });
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  try {
    await withTimeout(consumer.connect(), input.waitMs, `group ${groupId}: connect`);
    await withTimeout(consumer.subscribe({ topic: input.topic, fromBeginning: true }), input.waitMs, `group ${groupId}: subscribe`);
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const body = JSON.parse(message.value.toString());
        read.push({ key: message.key.toString(), value: body.value, partition, offset: Number(message.offset) });
        if (read.length >= want) done();
      },
    });
    if (want === 0) done();
    const timer = setInterval(() => { if (crashed) done(); }, 100);
    try {
      await withTimeout(finished, input.waitMs, `group ${groupId}: read ${want} records`);
    } finally {
      clearInterval(timer);
    }
    if (crashed) throw crashed;
    return { read };
  } catch (e) {
    return { read, error: `group ${groupId}: ${e.message || e}${crashed ? ` (consumer crashed: ${crashed.message})` : ''}` };
  } finally {
    await withTimeout(consumer.disconnect(), DISCONNECT_MS, `group ${groupId}: disconnect`).catch(() => {});
  }
}

async function main() {
  const input = await readStdin();
  const out = { created: false, acked: [], reads: {}, error: null };
  const kafka = new Kafka({
    clientId: 'tidemark-interop-kafkajs',
    brokers: input.brokers,
    logCreator,
    logLevel: logLevel.WARN,
    retry: { retries: 5 },
  });
  const admin = kafka.admin();
  const producer = kafka.producer();
  try {
    await withTimeout(admin.connect(), input.waitMs, 'admin connect');
    out.created = await withTimeout(admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: input.topic, numPartitions: input.partitions, replicationFactor: input.replicationFactor }],
    }), input.waitMs, 'createTopics');
    await admin.disconnect();

    await withTimeout(producer.connect(), input.waitMs, 'producer connect');
    for (const r of input.records) {
      const meta = await withTimeout(producer.send({
        topic: input.topic,
        acks: -1,
        messages: [{ key: r.key, value: JSON.stringify({ value: r.value }), partition: r.partition }],
      }), input.waitMs, 'send');
      if (meta.length !== 1 || meta[0].errorCode !== 0) {
        throw new Error(`send ${r.value}: unexpected record metadata ${JSON.stringify(meta)}`);
      }
      out.acked.push({ key: r.key, value: r.value, partition: meta[0].partition, offset: Number(meta[0].baseOffset) });
    }
    await producer.disconnect();

    const results = await Promise.all(input.groups.map((g) => consumeGroup(kafka, input, g, out.acked.length)));
    const errors = [];
    input.groups.forEach((g, i) => {
      out.reads[g] = results[i].read;
      if (results[i].error) errors.push(results[i].error);
    });
    if (errors.length) out.error = errors.join('; ');
  } catch (e) {
    out.error = `${e.name || 'Error'}: ${e.message || e}`;
  }
  process.stdout.write(JSON.stringify(out) + '\n');
  // kafkajs may keep sockets or timers alive after an error.
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`kafkajs.js: ${e.stack || e}\n`);
  process.exit(1);
});
