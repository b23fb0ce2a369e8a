// The fast CPU backend against the float64 reference across a matrix of head layouts, masks, lengths, dtypes and
// layouts, with the parity check's tolerance method (DESIGN.md); V all ones gives exactly 1; two runs give the same
// bits. Outputs are poisoned (NaN) before each run so an unwritten element shows.
import { AttentionOptions, DType, Tensor, attention } from '../lib';
import { errorStats, sameBits, values } from '../scripts/parity/metrics';
import { check, lseBounds, outBounds } from '../scripts/parity/tolerance';
import { headMajor, paged, shuffled } from '../scripts/bench/layouts';
import { randomFloat32, rng } from './helpers/random';

interface Case {
  name: string;
  B: number; Sq: number; Skv: number; Hq: number; Hkv: number; D: number;
  options?: AttentionOptions;
  bhsd?: boolean;
  /** Packed varlen lengths per sequence [q, kv]. */
  varlen?: [number, number][];
}

const heads: [string, number, number][] = [['MHA', 4, 4], ['MQA', 6, 1], ['GQA 2', 4, 2], ['GQA 3', 6, 2], ['GQA 4', 8, 2], ['GQA 5', 5, 1], ['GQA 7', 14, 2], ['GQA 8', 8, 1]];
const masks: [string, AttentionOptions][] = [
  ['none', {}],
  ['causal top-left', { causal: 'top-left' }],
  ['causal bottom-right', { causal: 'bottom-right' }],
  ['window', { window: [19, 5] }],
  ['window + causal bottom-right', { causal: 'bottom-right', window: [33, 0] }],
  ['softcap + sinks', { softcap: 2, sinks: new Float32Array(14).map((_, i) => (i % 3) - 1) }],
  ['everything', { causal: 'bottom-right', window: [40, 0], softcap: 5, sinks: new Float32Array(14).fill(0.25), scale: 0.2 }],
];

function sinksFor(o: AttentionOptions, hq: number): AttentionOptions {
  return o.sinks ? { ...o, sinks: o.sinks.subarray(0, hq) } : o;
}

const cases: Case[] = [];
// Head layouts x masks, ragged lengths (not multiples of any tile), f32 and bf16.
for (const [hname, Hq, Hkv] of heads) {
  for (const [mname, options] of masks) {
    cases.push({ name: `${hname} ${mname} prefill`, B: 2, Sq: 37, Skv: 283, Hq, Hkv, D: 64, options: sinksFor(options, Hq) });
  }
  cases.push({ name: `${hname} decode`, B: 3, Sq: 1, Skv: 301, Hq, Hkv, D: 128, options: { causal: 'bottom-right' } });
}
cases.push(
  { name: 'uneven head map', B: 1, Sq: 29, Skv: 71, Hq: 7, Hkv: 3, D: 64, options: { headMap: new Int32Array([2, 0, 0, 2, 2, 2, 1]), causal: 'bottom-right' } },
  { name: 'uneven head map decode', B: 2, Sq: 1, Skv: 257, Hq: 5, Hkv: 4, D: 128, options: { headMap: new Int32Array([3, 3, 3, 0, 1]) } },
  { name: 'Sq > Skv bottom-right (fully masked rows)', B: 1, Sq: 50, Skv: 20, Hq: 4, Hkv: 2, D: 32, options: { causal: 'bottom-right' } },
  { name: 'BHSD strided views', B: 2, Sq: 33, Skv: 165, Hq: 8, Hkv: 2, D: 64, bhsd: true, options: { causal: true } },
  { name: 'varlen', B: 3, Sq: 0, Skv: 0, Hq: 8, Hkv: 2, D: 64, varlen: [[5, 40], [0, 9], [31, 31]], options: { causal: 'bottom-right' } },
  { name: 'long decode split across threads', B: 1, Sq: 1, Skv: 2047, Hq: 8, Hkv: 2, D: 128, options: { causal: 'bottom-right' } },
  { name: 'short decode split by heads', B: 1, Sq: 1, Skv: 100, Hq: 16, Hkv: 8, D: 64, options: { causal: 'bottom-right' } },
  { name: 'chunked prefill', B: 1, Sq: 16, Skv: 700, Hq: 4, Hkv: 1, D: 128, options: { causal: 'bottom-right', window: [300, 0] } },
);
for (const D of [8, 16, 80, 136, 256, 512]) cases.push({ name: `head dim ${D}`, B: 1, Sq: 9, Skv: 21, Hq: 4, Hkv: 2, D, options: { causal: true } });
// Decode reads contiguous K and V rows in place in every dtype, one vector at a time, and converts the others (a head
// dim that is not a whole number of vectors, BHSD views) into the workspace first.
for (const D of [8, 40, 136]) cases.push({ name: `head dim ${D} decode`, B: 2, Sq: 1, Skv: 70, Hq: 8, Hkv: 2, D, options: { causal: 'bottom-right' } });
cases.push({ name: 'BHSD decode', B: 2, Sq: 1, Skv: 70, Hq: 8, Hkv: 2, D: 64, bhsd: true, options: { causal: 'bottom-right' } });

const dtypes: DType[] = ['f32', 'bf16', 'f16'];

function inputs(c: Case, dtype: DType, seed: number, vOnes = false) {
  const next = rng(seed);
  const totalQ = c.varlen ? c.varlen.reduce((s, [q]) => s + q, 0) : 0;
  const totalKv = c.varlen ? c.varlen.reduce((s, [, k]) => s + k, 0) : 0;
  const make = (S: number, H: number, total: number, ones = false) => {
    const n = c.varlen ? total * H * c.D : c.B * S * H * c.D;
    const data = ones ? new Float32Array(n).fill(1) : randomFloat32(n, next);
    if (c.varlen) return Tensor.fromFloat32(data, dtype, [total, H, c.D]);
    if (!c.bhsd) return Tensor.fromFloat32(data, dtype, [c.B, S, H, c.D]);
    return Tensor.fromFloat32(data, dtype, [c.B, H, S, c.D]).transpose(1, 2);
  };
  const options: AttentionOptions = { ...c.options };
  if (c.varlen) {
    options.cuSeqlensQ = Int32Array.from([0, ...c.varlen.map(([q]) => q)].map((_, i, a) => a.slice(0, i + 1).reduce((x, y) => x + y, 0)));
    options.cuSeqlensKv = Int32Array.from([0, ...c.varlen.map(([, k]) => k)].map((_, i, a) => a.slice(0, i + 1).reduce((x, y) => x + y, 0)));
  }
  return { q: make(c.Sq, c.Hq, totalQ), k: make(c.Skv, c.Hkv, totalKv), v: make(c.Skv, c.Hkv, totalKv, vOnes), options };
}

function poisoned(q: Tensor, dtype: DType): Tensor {
  const out = Tensor.zeros(dtype, q.shape);
  (out.data as Float32Array | Uint16Array).fill(dtype === 'f32' ? NaN : 0x7fc0);
  return out;
}

function run(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions, backend: 'cpu' | 'reference' | 'reference-f32', dtype: DType) {
  const lse = new Float32Array(q.size / q.shape[q.shape.length - 1]).fill(NaN);
  const r = attention(q, k, v, { ...options, backend: backend as 'cpu', out: poisoned(q, dtype), lse });
  return { out: r.out, lse: r.lse };
}

describe.each(dtypes)('cpu backend vs float64 reference, %s', (dtype) => {
  test.each(cases)('$name', (c) => {
    const { q, k, v, options } = inputs(c, dtype, 77);
    const golden = run(q, k, v, options, 'reference', 'f32');
    const lpRef = run(q, k, v, options, 'reference-f32', dtype);
    const first = run(q, k, v, options, 'cpu', dtype);
    const second = run(q, k, v, options, 'cpu', dtype);
    const g = values(golden.out);
    const gl = golden.lse.data as Float32Array;
    const reasons = [
      ...check('out', errorStats(values(first.out), g), outBounds(dtype, errorStats(values(lpRef.out), g))),
      ...check('lse', errorStats(first.lse.data as Float32Array, gl), lseBounds(errorStats(lpRef.lse.data as Float32Array, gl))),
    ];
    expect(reasons).toEqual([]);
    expect(sameBits(first.out, second.out) && sameBits(first.lse, second.lse)).toBe(true);

    // V all ones: every row with an allowed key (finite golden LSE) is exactly 1; the others exactly 0. (A sink
    // takes its share of the denominator, so rows then sum to less than 1.)
    if (options.sinks) return;
    const ones = inputs(c, dtype, 77, true);
    const o = values(run(ones.q, ones.k, ones.v, ones.options, 'cpu', dtype).out);
    const rows = o.length / c.D;
    const rowLse = (r: number) => {
      // out rows are [token, head]; LSE is [B, Hq, Sq] (varlen: [Hq, total]).
      const h = r % c.Hq, t = Math.floor(r / c.Hq);
      return c.varlen ? gl[h * (rows / c.Hq) + t] : gl[(Math.floor(t / c.Sq) * c.Hq + h) * c.Sq + (t % c.Sq)];
    };
    for (let r = 0; r < rows; r++) {
      const want = Number.isFinite(rowLse(r)) ? 1 : 0;
      for (let d = 0; d < c.D; d++) if (o[r * c.D + d] !== want) throw new Error(`V=1: row ${r} element ${d} is ${o[r * c.D + d]}, expected ${want}`);
    }
  });
});

// Long decode splits its keys (fixed by the shapes); short decode splits its KV heads into as many sets as there are
// threads (which never changes a head's arithmetic), evenly or not, with an uneven head map too.
test.each(['long decode split across threads', 'short decode split by heads', 'uneven head map decode'])('thread count does not change the bits: %s', (name) => {
  const c = cases.find((x) => x.name === name) as Case;
  const { q, k, v, options } = inputs(c, 'bf16', 5);
  const one = attention(q, k, v, { ...options, threads: 1, returnLse: true });
  const two = attention(q, k, v, { ...options, threads: 2, returnLse: true });
  const many = attention(q, k, v, { ...options, threads: 7, returnLse: true });
  expect(sameBits(one.out, two.out) && sameBits(one.out, many.out) && sameBits(one.lse, many.lse)).toBe(true);
});

// Decode reads paged K and V in place, in runs of keys that end at each page's end: the same arithmetic as over
// contiguous K and V, with pages of any size, in any order in the pool.
describe.each(dtypes)('pages do not change the bits, %s', (dtype) => {
  test.each([16, 5, 128])('pages of %i keys', (pageSize) => {
    const c = cases.find((x) => x.name === 'GQA 4 decode') as Case;
    const { q, k, v, options } = inputs(c, dtype, 21);
    const next = rng(pageSize);
    const pool = paged(k, v, pageSize, (n) => shuffled(n, () => (next() + 1) / 2));
    const contiguous = attention(q, k, v, { ...options, returnLse: true });
    const inPages = attention(q, pool.k, pool.v, { ...options, pages: pool.pages, returnLse: true });
    expect(sameBits(contiguous.out, inPages.out) && sameBits(contiguous.lse, inPages.lse)).toBe(true);
  });
});

// Sets of several KV heads go through each key together only when a key's rows of all heads are adjacent, as in
// BSHD; over head-major K and V each head runs alone. That grouping never changes a head's arithmetic.
describe.each(dtypes)('layout does not change the bits, %s', (dtype) => {
  test.each(['long decode split across threads', 'short decode split by heads', 'uneven head map decode', 'head dim 80'])('%s', (name) => {
    const c = cases.find((x) => x.name === name) as Case;
    const { q, k, v, options } = inputs(c, dtype, 9);
    const bshd = attention(q, k, v, { ...options, returnLse: true });
    const bhsd = attention(q, headMajor(k), headMajor(v), { ...options, returnLse: true });
    expect(sameBits(bshd.out, bhsd.out) && sameBits(bshd.lse, bhsd.lse)).toBe(true);
  });
});

// Output rows are written with a contiguous loop where the head dim is contiguous and element by element where it is
// not (csrc/cpu/output.cpp): both round alike. The strided view is poisoned first, so an unwritten element shows.
describe.each(dtypes)('an output view with a strided head dim gets the same bits, %s', (dtype) => {
  test.each(['GQA 4 decode', 'head dim 80'])('%s', (name) => {
    const c = cases.find((x) => x.name === name) as Case;
    const { q, k, v, options } = inputs(c, dtype, 33);
    const [B, Sq, Hq, D] = q.shape;
    const strided = poisoned(Tensor.zeros(dtype, [B, Sq, D, Hq]), dtype).transpose(2, 3);
    expect(strided.strides[3]).toBe(Hq);
    attention(q, k, v, { ...options, out: strided });
    const contiguous = attention(q, k, v, options);
    // The view's elements in row-major order, bit for bit.
    const storage = strided.data as Float32Array | Uint16Array;
    const bits = dtype === 'f32' ? new Uint32Array(storage.buffer, storage.byteOffset, storage.length) : storage;
    const gathered = new (dtype === 'f32' ? Uint32Array : Uint16Array)(strided.size);
    let n = 0;
    for (let b = 0; b < B; b++)
      for (let i = 0; i < Sq; i++)
        for (let h = 0; h < Hq; h++)
          for (let d = 0; d < D; d++) gathered[n++] = bits[strided.strides[0] * b + strided.strides[1] * i + strided.strides[2] * h + Hq * d];
    const expected = contiguous.data as Float32Array | Uint16Array;
    expect(Buffer.from(gathered.buffer).equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength))).toBe(true);
  });
});
