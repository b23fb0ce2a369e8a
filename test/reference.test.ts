// The native float64 reference agrees with an independent brute-force JS implementation on small shapes.
import { Tensor, attention } from '../lib';
import { BruteOptions, bruteForceAttention } from './helpers/brute-force';
import { randomFloat32, rng } from './helpers/random';

interface Case extends BruteOptions {
  name: string;
  B: number; Sq: number; Skv: number; Hq: number; Hkv: number; D: number;
  bhsd?: boolean;
}

const cases: Case[] = [
  { name: 'MHA', B: 2, Sq: 5, Skv: 7, Hq: 2, Hkv: 2, D: 8 },
  { name: 'MQA causal top-left', B: 1, Sq: 6, Skv: 9, Hq: 4, Hkv: 1, D: 16, causal: true },
  { name: 'GQA 3 causal bottom-right', B: 2, Sq: 4, Skv: 9, Hq: 6, Hkv: 2, D: 8, causal: true, alignment: 'bottom-right' },
  { name: 'window', B: 1, Sq: 9, Skv: 9, Hq: 2, Hkv: 1, D: 8, window: [2, 1] },
  { name: 'window + causal bottom-right, Sq > Skv', B: 1, Sq: 7, Skv: 4, Hq: 2, Hkv: 2, D: 8, causal: true, alignment: 'bottom-right', window: [1, -1] },
  { name: 'softcap + scale', B: 1, Sq: 3, Skv: 5, Hq: 2, Hkv: 1, D: 8, softcap: 0.5, scale: 3 },
  { name: 'sinks', B: 1, Sq: 3, Skv: 4, Hq: 3, Hkv: 1, D: 8, sinks: new Float32Array([0.5, -2, -Infinity]) },
  { name: 'uneven head map', B: 1, Sq: 3, Skv: 4, Hq: 5, Hkv: 2, D: 8, headMap: new Int32Array([1, 1, 1, 0, 1]) },
  { name: 'varlen', B: 3, Sq: 0, Skv: 0, Hq: 4, Hkv: 2, D: 8, causal: true, alignment: 'bottom-right',
    cuSeqlensQ: new Int32Array([0, 2, 2, 7]), cuSeqlensKv: new Int32Array([0, 3, 8, 12]) },
  { name: 'BHSD strided views', B: 2, Sq: 4, Skv: 6, Hq: 4, Hkv: 2, D: 8, bhsd: true, causal: true },
  { name: 'fully masked rows', B: 1, Sq: 6, Skv: 3, Hq: 2, Hkv: 1, D: 8, causal: true, alignment: 'bottom-right' },
];

function makeInputs(c: Case, seed: number) {
  const next = rng(seed);
  const varlen = c.cuSeqlensQ !== undefined;
  const make = (rows: number, S: number, H: number) => {
    if (varlen) return Tensor.f32(randomFloat32(rows * H * c.D, next), [rows, H, c.D]);
    if (!c.bhsd) return Tensor.f32(randomFloat32(c.B * S * H * c.D, next), [c.B, S, H, c.D]);
    // Stored [B, H, S, D], seen as [B, S, H, D] without a copy.
    return Tensor.f32(randomFloat32(c.B * S * H * c.D, next), [c.B, H, S, c.D]).transpose(1, 2);
  };
  const totalQ = varlen ? c.cuSeqlensQ![c.cuSeqlensQ!.length - 1] : 0;
  const totalKv = varlen ? c.cuSeqlensKv![c.cuSeqlensKv!.length - 1] : 0;
  return { q: make(totalQ, c.Sq, c.Hq), k: make(totalKv, c.Skv, c.Hkv), v: make(totalKv, c.Skv, c.Hkv) };
}

test.each(cases)('reference matches brute force: $name', (c) => {
  const { q, k, v } = makeInputs(c, 1234);
  const { name, B, Sq, Skv, Hq, Hkv, D, bhsd, ...options } = c;
  const got = attention(q, k, v, { ...options, backend: 'reference', returnLse: true });
  const want = bruteForceAttention(q, k, v, options);
  const out = got.out.toFloat32();
  expect(out.length).toBe(want.out.length);
  for (let n = 0; n < out.length; n++) expect(Math.abs(out[n] - want.out[n])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(want.out[n])));
  const lse = got.lse.data as Float32Array;
  for (let n = 0; n < want.lse.length; n++) {
    if (want.lse[n] === -Infinity) expect(lse[n]).toBe(-Infinity);
    else expect(Math.abs(lse[n] - want.lse[n])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(want.lse[n])));
  }
  if (name === 'fully masked rows') {
    // Query rows 0..2 see no key (offset 3 - 6 = -3): output 0, LSE -inf, no NaN.
    expect(Array.from(out).some(Number.isNaN)).toBe(false);
    expect(lse[0]).toBe(-Infinity);
    expect(out.slice(0, D).every((x) => x === 0)).toBe(true);
  }
});
