// attentionAsync runs off the main thread and holds its buffers alive until it settles, even under GC pressure.
import * as v8 from 'v8';
import * as vm from 'vm';
import { Tensor, attention, attentionAsync } from '../lib';
import { BUILT_LIB, runNodeScript, spawnNodeScript } from './helpers/node-script';
import { randomFloat32, rng } from './helpers/random';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

test('many concurrent calls with forced GC all give the synchronous result', async () => {
  // Thread counts and backends vary, so that calls wait for, and run beside, calls of other widths.
  const calls = 64;
  const options = (c: number) => ({
    causal: true, alignment: 'bottom-right' as const, threads: c % 3, backend: c % 8 === 7 ? 'reference' as const : 'cpu' as const,
  });
  const shape = [1, 33, 4, 64];
  const kvShape = [1, 47, 2, 64];
  const expected: Float32Array[] = [];
  const pending: Promise<Float32Array>[] = [];
  for (let c = 0; c < calls; c++) {
    const next = rng(100 + c);
    const make = () => ({
      q: Tensor.f32(randomFloat32(33 * 4 * 64, next), shape),
      k: Tensor.f32(randomFloat32(47 * 2 * 64, next), kvShape),
      v: Tensor.f32(randomFloat32(47 * 2 * 64, next), kvShape),
    });
    const sync = make();
    expected.push(attention(sync.q, sync.k, sync.v, options(c)).data as Float32Array);
    // Fresh arrays, referenced only by the pending call: GC must not free them.
    const again = rng(100 + c);
    const inputs = {
      q: Tensor.f32(randomFloat32(33 * 4 * 64, again), shape),
      k: Tensor.f32(randomFloat32(47 * 2 * 64, again), kvShape),
      v: Tensor.f32(randomFloat32(47 * 2 * 64, again), kvShape),
    };
    pending.push(attentionAsync(inputs.q, inputs.k, inputs.v, options(c))
      .then((t) => t.data as Float32Array));
    gc();
  }
  for (let i = 0; i < 5; i++) gc();
  const results = await Promise.all(pending);
  const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  results.forEach((r, c) => expect(Buffer.compare(bytes(r), bytes(expected[c]))).toBe(0));
});

test('the event loop keeps running while a long call works', async () => {
  const next = rng(3);
  const q = Tensor.f32(randomFloat32(256 * 8 * 128, next), [1, 256, 8, 128]);
  const k = Tensor.f32(randomFloat32(1024 * 8 * 128, next), [1, 1024, 8, 128]);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  await attentionAsync(q, k, k, { threads: 1, backend: 'reference' });
  clearInterval(timer);
  expect(ticks).toBeGreaterThan(0);
});

test('errors from the native layer reject the Promise with a typed error', async () => {
  const q = Tensor.f32(new Float32Array(64), [1, 1, 1, 64]);
  await expect(attentionAsync(q, q, q, { backend: 'cuda' })).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_GQA_/) });
});

// Process and worker-thread lifetimes around calls: these run in a child process, on the built package, as they end
// processes and worker threads.
// Deterministic inputs for the scripts: q [1, 128, 8, 64], k and v [1, 2048, 2, 64].
const inputs = `
const { Tensor, attention, attentionAsync } = require(${JSON.stringify(BUILT_LIB)});
const fill = (n, f) => Float32Array.from({ length: n }, (_, i) => Math.sin(f * i));
const q = Tensor.f32(fill(128 * 8 * 64, 0.37), [1, 128, 8, 64]);
const k = Tensor.f32(fill(2048 * 2 * 64, 0.11), [1, 2048, 2, 64]);
const v = Tensor.f32(fill(2048 * 2 * 64, 0.23), [1, 2048, 2, 64]);
`;

test('a pending call keeps the process alive until it settles, and then lets it exit', () => {
  const out = runNodeScript(`${inputs}
attentionAsync(q, k, v).then((o) => console.log('settled', o.data.length));
`);
  expect(out.trim()).toBe(`settled ${128 * 8 * 64}`);
});

test('process.exit with calls in flight ends the process with its code', () => {
  const run = spawnNodeScript(`${inputs}
for (let i = 0; i < 4; i++) attentionAsync(q, k, v, { backend: i % 2 ? 'reference' : 'cpu' });
setTimeout(() => process.exit(3), 20);
`);
  expect({ status: run.status, signal: run.signal }).toEqual({ status: 3, signal: null });
});

test('ending a worker thread waits for its calls in flight, which write nothing after', () => {
  const out = runNodeScript(`${inputs}
const { Worker } = require('worker_threads');
const shared = new Float32Array(new SharedArrayBuffer(128 * 8 * 64 * 4)).fill(NaN);
const worker = new Worker(\`
  const { workerData, parentPort } = require('worker_threads');
  \${${JSON.stringify(inputs)}}
  attentionAsync(q, k, v, { backend: 'reference', out: new Float32Array(workerData) });
  parentPort.postMessage('started');
\`, { eval: true, workerData: shared.buffer });
worker.on('message', async () => {
  // A call that has not started when the worker ends is skipped (the next test): end it once it writes its first rows.
  const written = () => shared.findIndex((x) => !Number.isNaN(x)) >= 0;
  const giveUp = Date.now() + 20000;
  while (!written() && Date.now() < giveUp);
  const partWrittenAtEnd = written() && shared.some(Number.isNaN);
  await worker.terminate();
  const atEnd = Float32Array.from(shared);
  const expected = attention(q, k, v, { backend: 'reference' }).data;
  await new Promise((resolve) => setTimeout(resolve, 200));
  const same = (a, b) => Buffer.compare(Buffer.from(a.buffer), Buffer.from(Float32Array.from(b).buffer)) === 0;
  console.log(JSON.stringify({ partWrittenAtEnd, completeAtEnd: same(atEnd, expected), unchangedAfter: same(atEnd, shared) }));
});
`);
  expect(JSON.parse(out)).toEqual({ partWrittenAtEnd: true, completeAtEnd: true, unchangedAfter: true });
});

test('ending a worker thread skips its calls that have not started', () => {
  // 40 reference calls of about 0.4 s each, two at a time on two cores: some 8 s to run them all.
  const out = runNodeScript(`
const { Worker } = require('worker_threads');
const worker = new Worker(\`
  \${${JSON.stringify(inputs)}}
  for (let i = 0; i < 40; i++) attentionAsync(q, k, v, { backend: 'reference' });
  require('worker_threads').parentPort.postMessage('queued');
\`, { eval: true });
worker.on('message', async () => {
  const start = Date.now();
  await worker.terminate();
  console.log(JSON.stringify({ terminateMs: Date.now() - start }));
});
`);
  expect(JSON.parse(out).terminateMs).toBeLessThan(3000);
});

test('a worker thread that ran calls on several threads can end while the process goes on', () => {
  // The addon is loaded by the worker only, which unloads it as it ends, unless the library says it must stay.
  const out = runNodeScript(`
const { Worker } = require('worker_threads');
const worker = new Worker(\`
  \${${JSON.stringify(inputs)}}
  attention(q, k, v, { threads: 2 });
  require('worker_threads').parentPort.postMessage('done');
\`, { eval: true });
worker.on('message', async () => {
  await worker.terminate();
  setTimeout(() => console.log('alive'), 1000);
});
`);
  expect(out.trim()).toBe('alive');
});

test('worker threads ended at any moment, calls in flight or running, leave the process running', () => {
  // Each worker runs sync and async calls in a loop; it is ended after a random delay, or ends itself.
  const out = runNodeScript(`
const { Worker } = require('worker_threads');
let ended = 0;
function next() {
  const worker = new Worker(\`
    \${${JSON.stringify(inputs)}}
    const loop = (i) => {
      if (i % 4 === 3) attention(q, k, v, { threads: 2 });
      attentionAsync(q, k, v, { threads: 1 + (i % 2) }).then(() => loop(i + 1));
    };
    for (let i = 0; i < 3; i++) loop(i);
    require('worker_threads').parentPort.postMessage('running');
    if (Math.random() < 0.3) setTimeout(() => process.exit(0), Math.random() * 20);
  \`, { eval: true });
  worker.on('message', () => setTimeout(() => worker.terminate().then(() => (++ended < 20 ? next() : console.log('ended', ended))), Math.random() * 30));
}
next();
`);
  expect(out.trim()).toBe('ended 20');
});
