#!/usr/bin/env node
// The CPU benchmark: causal GQA (Hq=32, Hkv=8, D=128) in f32 (or --dtype bf16 | f16), prefill (Sq=Skv=512) and
// decode (Sq=1 over 2047 cached keys plus the new one), batch 1 and 4. Measured in the same run:
//   - what bounds decode, reading K and V once: a plain read of the same K and V buffers with the same threads just
//     before each decode call (the target judges each call against its read), and, for the record, the time at the
//     streaming read bandwidth the run started with (one large buffer);
//   - the peer, onnxruntime-node's com.microsoft GroupQueryAttention on its CPU provider with the same thread count
//     (when installed; f32 only), whose output is compared with ours so that both compute the same thing.
// --layout sets how our K and V lie: [B, S, Hkv, D] (bshd, the default), head-major (bhsd) or in pages of 16 keys
// placed in a pool in shuffled order (paged); the values, and the peer's inputs, stay the same.
//   npm run bench -- [--threads N] [--dtype f32|bf16|f16] [--layout bshd|bhsd|paged] [--json]
import * as os from 'os';
import { setTimeout as sleep } from 'timers/promises';
import { parseArgs } from 'util';
import { DTYPES, DType, PageTable, Tensor, attention, attentionAsync, buildInfo, dtypeSize } from '../../lib';
import { native } from '../../lib/native';
import { generator, normals } from '../parity/random';
import { lastLevelCacheBytes } from './cache-size';
import { LAYOUTS, Layout, headMajor, paged, shuffled } from './layouts';
import { GqaShape, ORT_INSTALL_HINT, OrtGqa, PeerInputs, loadOrt, splitCache } from './ort-peer';
import { alternatingMediansMs, median, medianMs, timeMs } from './timing';

const HEADS = 32;
const KV_HEADS = 8;
const HEAD_DIM = 128;
const PREFILL_TOKENS = 512;
const PAGE_KEYS = 16;  // --layout paged
const DECODE_KEYS = 2048;  // 2047 cached + the new token's
const MIB = 1 << 20;
// Far beyond the last-level cache, so that the bandwidth figure is DRAM's.
const BANDWIDTH_BUFFER_BYTES = 512 * MIB;
// The best pass: the machine's rate when nothing else competes for memory (other processes add noise, never speed).
const BANDWIDTH_PASSES = 8;
// Decode inputs rotate through copies totalling this much, as the caches of successive layers would: each call then
// reads K and V from memory, not from a cache still warm from the previous call.
const DECODE_WORKING_SET_BYTES = 256 * MIB;
// f32 with D=128 and inputs in [-1, 1): two correct implementations differ by ~1e-7.
const AGREEMENT_TOLERANCE = 1e-4;
const PREFILL_TARGET = 1.5;  // peer time / our time, at least
const DECODE_TARGET = 1.5;   // our time / the time to read K and V once just before, at most (the median over calls)

interface Case {
  name: string;
  decode: boolean;
  batch: number;
  sq: number;
  skv: number;
}

interface InputSet {
  q: Tensor;
  k: Tensor;  // [B, S, Hkv, D], as the peer takes them
  v: Tensor;
  ours: { k: Tensor; v: Tensor; pages?: PageTable };  // the same values as --layout lays them out
}

interface CaseResult {
  name: string;
  batch: number;
  sq: number;
  skv: number;
  oursMs: number;
  gflops?: number;         // prefill: causal FLOPs / time
  kvBytes?: number;        // decode: bytes of K and V
  gbps?: number;           // decode: K and V bytes / time
  readMs?: number;         // decode: the median time to read its K and V buffers once, same threads, among its calls
  oursOverRead?: number;   // decode: the median over its calls of the call's time / the read's just before it
  startMs?: number;        // decode: K and V bytes at the streaming bandwidth measured at the start
  oursOverStart?: number;  // decode
  cachedMs?: number;       // decode: the median time of a call repeated at once, its K and V in cache (if they fit)
  asyncMs?: number;        // decode: the same calls through attentionAsync, each awaited before the next
  peerMs?: number;
  peerOverOurs?: number;   // the speed-up over the peer
  maxAbsDiff?: number;     // ours vs the peer, first input set
}

const { values: args } = parseArgs({
  options: {
    threads: { type: 'string', default: String(os.availableParallelism()) },
    dtype: { type: 'string', default: 'f32' },
    layout: { type: 'string', default: 'bshd' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: npm run bench -- [--threads N] [--dtype f32|bf16|f16] [--layout bshd|bhsd|paged] [--json]');
  process.exit(0);
}
const threads = Number(args.threads);
if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`--threads: expected a positive integer, received ${args.threads}`);
if (!(DTYPES as readonly string[]).includes(args.dtype)) throw new RangeError(`--dtype: expected one of ${DTYPES.join(', ')}, received ${args.dtype}`);
const dtype = args.dtype as DType;
if (!(LAYOUTS as readonly string[]).includes(args.layout)) throw new RangeError(`--layout: expected one of ${LAYOUTS.join(', ')}, received ${args.layout}`);
const layout = args.layout as Layout;
// K and V bytes of one decode call's batch.
const kvBytes = (c: Case) => 2 * dtypeSize(dtype) * c.batch * c.skv * KV_HEADS * HEAD_DIM;
const log = args.json ? (..._: unknown[]) => undefined : console.log;

const CASES: Case[] = [1, 4].flatMap((batch) => [
  { name: `prefill B=${batch}`, decode: false, batch, sq: PREFILL_TOKENS, skv: PREFILL_TOKENS },
  { name: `decode B=${batch}`, decode: true, batch, sq: 1, skv: DECODE_KEYS },
]);

// Standard normal inputs from a fixed seed.
const next = generator(20261123, 1);
const random = (n: number) => normals(n, next);

function laidOut(k: Tensor, v: Tensor): InputSet['ours'] {
  if (layout === 'bhsd') return { k: headMajor(k), v: headMajor(v) };
  if (layout === 'paged') return paged(k, v, PAGE_KEYS, (n) => shuffled(n, next));
  return { k, v };
}

function inputSets(c: Case): InputSet[] {
  const kvShape = [c.batch, c.skv, KV_HEADS, HEAD_DIM];
  const kvElements = c.batch * c.skv * KV_HEADS * HEAD_DIM;
  // K and V live in storage allocated as the package allocates it (Tensor.zeros: on huge pages where the system has
  // them, as a KVCache's pools), where a server's caches would.
  const copy = (t: Tensor) => {
    const stored = Tensor.zeros(dtype, kvShape);
    (stored.data as Float32Array | Uint16Array).set(t.data as Float32Array | Uint16Array);
    return stored;
  };
  const q = Tensor.fromFloat32(random(c.batch * c.sq * HEADS * HEAD_DIM), dtype, [c.batch, c.sq, HEADS, HEAD_DIM]);
  const k = copy(Tensor.fromFloat32(random(kvElements), dtype, kvShape));
  const v = copy(Tensor.fromFloat32(random(kvElements), dtype, kvShape));
  const sets = [{ q, k, v, ours: laidOut(k, v) }];
  if (!c.decode) return sets;
  const copies = Math.max(1, Math.ceil(DECODE_WORKING_SET_BYTES / kvBytes(c)));
  for (let i = 1; i < copies; i++) {
    const kc = copy(k), vc = copy(v);
    sets.push({ q, k: kc, v: vc, ours: laidOut(kc, vc) });
  }
  return sets;
}

/** Query-key pairs the bottom-right causal mask allows: key j is visible to query i iff j <= i + Skv - Sq. */
function allowedPairs(sq: number, skv: number): number {
  let pairs = 0;
  for (let i = 0; i < sq; i++) pairs += Math.min(skv, Math.max(0, i + skv - sq + 1));
  return pairs;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return Number.isNaN(m) ? Infinity : m;
}

// Decode calls are short and this kind of shared VM noisy: medians of 21 calls ranged over 1.41-1.93x the read at
// batch 1 in six runs of one build, medians of 63 over 1.41-1.44x in three.
const DECODE_RUNS = 63;
// Prefill: blocks of our calls and the peer's take turns, each block one warm-up and then timed calls in a row.
const PREFILL_ROUNDS = 3;
const PREFILL_PER_BLOCK = 3;

// The peer's intra-op threads spin for a while after each of its calls and would compete with our next one: after a
// prefill call of the peer, its worker thread ran on for 28-40 ms.
const PEER_SPIN_MS = 100;

type PeerFeeds = ReturnType<OrtGqa['feeds']>;

/** The peer's inputs for each input set, built once per case and used by both its prefill and decode timings. */
function peerFeeds(peer: OrtGqa, c: Case, sets: InputSet[]): PeerFeeds[] {
  const shape: GqaShape = { batch: c.batch, heads: HEADS, kvHeads: KV_HEADS, headDim: HEAD_DIM };
  const past = c.skv - c.sq;
  return sets.map((s) => {
    const k = splitCache(s.k.data as Float32Array, shape, c.skv, past);
    const v = splitCache(s.v.data as Float32Array, shape, c.skv, past);
    const inputs: PeerInputs = { batch: c.batch, query: s.q.data as Float32Array, key: k.fresh, value: v.fresh, pastKey: k.past, pastValue: v.past, newTokens: c.sq, pastTokens: past };
    return peer.feeds(inputs);
  });
}

/**
 * The machine's streaming read bandwidth in GB/s: the best of passes of the threads over one large buffer, allocated
 * as the package allocates large tensors (on huge pages where the system has them), as K and V are.
 */
function streamingBandwidth(): number {
  const probe = Tensor.zeros('f32', [BANDWIDTH_BUFFER_BYTES / 4]).data as Float32Array;
  probe.fill(1);
  let best = 0;
  for (let i = 0; i < BANDWIDTH_PASSES; i++) {
    const pass = native().streamRead(probe, threads);
    best = Math.max(best, pass.bytes / (pass.seconds * 1e9));
  }
  return best;
}

/** Our time for a case; for prefill, the peer's too when there is one (its feeds given), timed in turn with ours. */
async function measureOurs(c: Case, sets: InputSet[], peer: OrtGqa | undefined, feeds: PeerFeeds[]): Promise<{ result: CaseResult; firstOut: Tensor }> {
  const options = { causal: true, alignment: 'bottom-right' as const, threads };
  const out = Tensor.zeros(dtype, sets[0].q.shape);
  const result: CaseResult = { name: c.name, batch: c.batch, sq: c.sq, skv: c.skv, oursMs: 0 };
  await sleep(PEER_SPIN_MS);  // the peer's threads may still spin from the case before
  if (c.decode) {
    // Each decode call alternates with a plain read of the K and V of the copy half the rotation away, so that both
    // read from memory, under the same conditions, in turn: the machine's rate swings within a case's calls (the
    // fastest of 63 reads has taken 0.35 ms where their median took 0.63 ms), so each call is judged against the read
    // just before it. The warm-ups take one call per copy, as a server decodes over caches it has read before: the
    // first calls on newly written copies ran slower (batch 1, 21 calls, four runs: medians of 0.79-0.88 ms after 2
    // warm-ups, 0.68-0.83 ms after one per copy).
    const warmUps = sets.length;
    const decode = (s: InputSet) => () => attention(s.q, s.ours.k, s.ours.v, { ...options, pages: s.ours.pages, out });
    const ours: number[] = [], read: number[] = [], ratios: number[] = [];
    for (let i = 0; i < DECODE_RUNS + warmUps; i++) {
      const other = sets[(i + (sets.length >> 1)) % sets.length];
      const readMs = native().timeRead([other.ours.k.data, other.ours.v.data], threads).seconds * 1e3;
      const oursMs = await timeMs(decode(sets[i % sets.length]));
      if (i < warmUps) continue;
      ours.push(oursMs);
      read.push(readMs);
      ratios.push(oursMs / readMs);
    }
    result.oursMs = median(ours);
    result.readMs = median(read);
    // What a server awaiting each step sees: the same rotation, the copies read before.
    result.asyncMs = await medianMs(DECODE_RUNS, 0, (i) => {
      const s = sets[i % sets.length];
      return attentionAsync(s.q, s.ours.k, s.ours.v, { ...options, pages: s.ours.pages, out });
    });
    result.kvBytes = kvBytes(c);
    result.gbps = result.kvBytes / (result.oursMs * 1e6);
    result.oursOverRead = median(ratios);
    // The arithmetic's share, for telling a slow minute of the cores from one of the memory: each call repeated at
    // once, on the K and V the first has just brought into the last-level cache, where they fit.
    if (result.kvBytes <= (lastLevelCacheBytes() ?? 0)) {
      const cached: number[] = [];
      for (let i = 0; i < DECODE_RUNS; i++) {
        const call = decode(sets[i % sets.length]);
        call();
        cached.push(await timeMs(call));
      }
      result.cachedMs = median(cached);
    }
  } else {
    // Blocks of our calls and the peer's alternate, so that a slow minute of this shared machine weighs on both
    // alike: with all of ours first, our batch-4 prefill took 25-28 ms in most runs of one afternoon and 43-44 ms in
    // a few, while the peer's, timed seconds later, did not follow.
    const s = sets[0];
    const calls: (() => unknown)[] = [() => attention(s.q, s.ours.k, s.ours.v, { ...options, pages: s.ours.pages, out })];
    if (peer) calls.push(() => peer.run(feeds[0]));
    [result.oursMs, result.peerMs] = await alternatingMediansMs(PREFILL_ROUNDS, 1, PREFILL_PER_BLOCK, calls, PEER_SPIN_MS);
    result.gflops = (4 * c.batch * HEADS * HEAD_DIM * allowedPairs(c.sq, c.skv)) / (result.oursMs * 1e6);
  }
  const firstOut = attention(sets[0].q, sets[0].ours.k, sets[0].ours.v, { ...options, pages: sets[0].ours.pages });
  return { result, firstOut };
}

/** The peer's decode time (its prefill time is taken with ours) and its output for the first input set. */
async function measurePeer(peer: OrtGqa, c: Case, feeds: PeerFeeds[], result: CaseResult): Promise<Float32Array> {
  if (c.decode) result.peerMs = await medianMs(DECODE_RUNS, 2, (i) => peer.run(feeds[i % feeds.length]));
  return peer.run(feeds[0]);
}

function fixed(x: number | undefined, digits: number): string {
  return x === undefined ? '-' : x.toFixed(digits);
}

async function main(): Promise<void> {
  const info = buildInfo();
  const ort = loadOrt();
  const started = new Date();
  const [load1] = os.loadavg();
  log(`node-gqa CPU benchmark: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, ${threads} threads, simd ${info.cpuSimd}, node ${process.version}, load ${load1.toFixed(2)}`);
  log(`${dtype}, Hq=${HEADS}, Hkv=${KV_HEADS}, D=${HEAD_DIM}, causal (bottom-right), K and V ${layout === 'paged' ? `in pages of ${PAGE_KEYS} keys` : layout}; prefill: median of ${PREFILL_ROUNDS * PREFILL_PER_BLOCK} runs in ${PREFILL_ROUNDS} blocks of ${PREFILL_PER_BLOCK} after a warm-up each, in turn with the peer's; decode: median of ${DECODE_RUNS} runs after one warm-up per copy of K and V`);

  const bandwidth = streamingBandwidth();
  log(`memory read bandwidth at the start: ${bandwidth.toFixed(1)} GB/s (${BANDWIDTH_BUFFER_BYTES / MIB} MiB buffer, ${threads} threads, best of ${BANDWIDTH_PASSES} passes)`);

  const peer = ort && dtype === 'f32' ? await OrtGqa.create(ort, { heads: HEADS, kvHeads: KV_HEADS, headDim: HEAD_DIM }, threads) : undefined;
  if (peer) {
    log(`peer: onnxruntime-node ${ort?.env.versions?.common ?? 'unknown version'}, com.microsoft GroupQueryAttention, CPU provider, ${threads} intra-op threads`);
  } else if (ort) {
    log(`peer: compared in f32 only (run without --dtype)`);
  } else {
    log(`peer: onnxruntime-node is not installed; install it for the comparison with: ${ORT_INSTALL_HINT}`);
  }

  // Prefill takes the peer's calls in turn with ours; its decode calls come after all of ours, which alternate with
  // plain reads instead.
  const measured: { c: Case; feeds: PeerFeeds[]; result: CaseResult; firstOut: Tensor }[] = [];
  for (const c of CASES) {
    const sets = inputSets(c);
    const feeds = peer ? peerFeeds(peer, c, sets) : [];
    const { result, firstOut } = await measureOurs(c, sets, peer, feeds);
    if (result.kvBytes !== undefined) {
      result.startMs = result.kvBytes / (bandwidth * 1e6);
      result.oursOverStart = result.oursMs / result.startMs;
    }
    measured.push({ c, feeds, result, firstOut });
  }

  let disagreement = false;
  if (peer) {
    for (const m of measured) {
      const firstOut = await measurePeer(peer, m.c, m.feeds, m.result);
      m.result.peerOverOurs = (m.result.peerMs as number) / m.result.oursMs;
      m.result.maxAbsDiff = maxAbsDiff(m.firstOut.data as Float32Array, firstOut);
      if (!(m.result.maxAbsDiff <= AGREEMENT_TOLERANCE)) disagreement = true;
    }
    await peer.release();
  }

  const results = measured.map((m) => m.result);
  log('');
  log('case           ours ms  async ms cached ms   GFLOP/s   GB/s    read ms  ours/read   start ms  ours/start   peer ms  peer/ours  max|ours-peer|');
  for (const r of results) {
    log([
      r.name.padEnd(12), fixed(r.oursMs, 2).padStart(9), fixed(r.asyncMs, 2).padStart(9), fixed(r.cachedMs, 2).padStart(9), fixed(r.gflops, 1).padStart(9), fixed(r.gbps, 1).padStart(6),
      fixed(r.readMs, 2).padStart(10), fixed(r.oursOverRead, 2).padStart(10), fixed(r.startMs, 2).padStart(10),
      fixed(r.oursOverStart, 2).padStart(11), fixed(r.peerMs, 2).padStart(9),
      fixed(r.peerOverOurs, 2).padStart(10), (r.maxAbsDiff === undefined ? '-' : r.maxAbsDiff.toExponential(1)).padStart(15),
    ].join(' '));
  }
  log('');
  for (const r of results) {
    if (r.oursOverRead !== undefined && r.oursOverStart !== undefined && r.readMs !== undefined) {
      const cached = r.cachedMs === undefined ? '' : `; with K and V in cache a call takes ${(r.cachedMs / r.readMs).toFixed(2)}x the read`;
      log(`${r.name}: ${r.oursOverRead.toFixed(2)}x the time to read its K and V once, the read just before each call (target <= ${DECODE_TARGET}x): ${r.oursOverRead <= DECODE_TARGET ? 'met' : 'missed'}; ${r.oursOverStart.toFixed(2)}x that time at the bandwidth measured at the start${cached}`);
    } else if (r.peerOverOurs !== undefined) {
      log(`${r.name}: ${r.peerOverOurs.toFixed(2)}x the peer's speed (target >= ${PREFILL_TARGET}x): ${r.peerOverOurs >= PREFILL_TARGET ? 'met' : 'missed'}`);
    }
  }
  if (disagreement) {
    console.error(`the peer's output differs from ours by more than ${AGREEMENT_TOLERANCE}: the comparison is not like for like`);
    process.exitCode = 1;
  }
  if (args.json) {
    console.log(JSON.stringify({
      date: started.toISOString(), cpu: os.cpus()[0]?.model, cores: os.availableParallelism(), threads, dtype, layout, node: process.version,
      simd: info.cpuSimd, loadAverage1m: load1, startBandwidthGBps: bandwidth,
      peer: ort && dtype === 'f32' ? `onnxruntime-node ${ort.env.versions?.common}` : null,
      results,
    }, null, 2));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
