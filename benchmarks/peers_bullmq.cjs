// The BullMQ side of benchmarks/peers.py (run with NODE_PATH pointing at a temp dir where peers.py installed bullmq).
//   node peers_bullmq.cjs produce PORT --jobs N [--batch B] [--rate R]
//   node peers_bullmq.cjs consume PORT [--concurrency C] [--expect N]
// Same protocol as peers_python.py: `produce` prints {"seconds": ...}; `consume` prints "ready", then with
// --expect stops after N jobs and prints {"seconds": ...}, else runs until a line on stdin, each job pushing its
// enqueue -> handler start latency (ms) to the list peers:latencies.
"use strict";
const { Queue, Worker } = require("bullmq");
const IORedis = require("ioredis");
const readline = require("node:readline");

const QUEUE = "bench";
const LATENCIES = "peers:latencies";
const KEEP = { removeOnComplete: 100, removeOnFail: 50 }; // as WellQueue's defaults keep

function parse(argv) {
  const [role, port, ...rest] = argv;
  const opts = { role, port: Number(port), jobs: 0, batch: 0, rate: 0, concurrency: 8, expect: 0 };
  for (let i = 0; i < rest.length; i += 2) opts[rest[i].replace(/^--/, "")] = Number(rest[i + 1]);
  return opts;
}

const nowMs = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function produce(opts, connection) {
  const queue = new Queue(QUEUE, { connection });
  await queue.waitUntilReady();
  const started = performance.now();
  if (opts.rate) {
    const interval = 1000 / opts.rate;
    for (let i = 0; i < opts.jobs; i++) {
      const pause = started + i * interval - performance.now();
      if (pause > 0) await sleep(pause);
      await queue.add("noop", { i, t: nowMs() }, KEEP);
    }
  } else if (opts.batch) {
    for (let start = 0; start < opts.jobs; start += opts.batch) {
      const jobs = [];
      for (let i = start; i < Math.min(start + opts.batch, opts.jobs); i++) jobs.push({ name: "noop", data: { i }, opts: KEEP });
      await queue.addBulk(jobs);
    }
  } else {
    for (let i = 0; i < opts.jobs; i++) await queue.add("noop", { i }, KEEP);
  }
  console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000 }));
  await queue.close();
}

async function consume(opts, connection) {
  const client = new IORedis(connection); // the latency list's own connection
  let count = 0;
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  const started = performance.now();
  const worker = new Worker(
    QUEUE,
    async (job) => {
      const startedMs = nowMs();
      if (job.data.t !== undefined) await client.rpush(LATENCIES, (startedMs - job.data.t).toFixed(3));
      count += 1;
      if (opts.expect && count >= opts.expect) finish(performance.now());
    },
    { connection, concurrency: opts.concurrency },
  );
  await worker.waitUntilReady();
  console.log("ready");
  if (opts.expect) {
    const last = await finished;
    console.log(JSON.stringify({ seconds: (last - started) / 1000 }));
  } else {
    await new Promise((resolve) => readline.createInterface({ input: process.stdin }).once("line", resolve));
  }
  await worker.close();
  client.disconnect();
}

async function main() {
  const opts = parse(process.argv.slice(2));
  const connection = { host: "127.0.0.1", port: opts.port, maxRetriesPerRequest: null };
  await (opts.role === "produce" ? produce(opts, connection) : consume(opts, connection));
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
