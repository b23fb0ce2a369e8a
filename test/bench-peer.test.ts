/**
 * @jest-environment ./test/helpers/node-typed-arrays-environment.js
 */
// The CPU benchmark's peer: the hand-encoded ONNX model and the input layout given to onnxruntime's
// GroupQueryAttention must compute our attention (bottom-right causal GQA), or the benchmark compares unlike things.
import { Tensor } from '../lib';
import { varint } from '../scripts/bench/onnx-gqa-model';
import { OrtGqa, loadOrt, splitCache } from '../scripts/bench/ort-peer';
import { bruteForceAttention } from './helpers/brute-force';
import { randomFloat32, rng } from './helpers/random';

describe('protobuf varint', () => {
  test('encodes the protobuf documentation examples', () => {
    expect(varint(0)).toEqual([0]);
    expect(varint(1)).toEqual([1]);
    expect(varint(127)).toEqual([0x7f]);
    expect(varint(128)).toEqual([0x80, 0x01]);
    expect(varint(150)).toEqual([0x96, 0x01]);
    expect(varint(300)).toEqual([0xac, 0x02]);
    expect(varint(2 ** 35)).toEqual([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
  });

  test('rejects negative and fractional values', () => {
    expect(() => varint(-1)).toThrow(RangeError);
    expect(() => varint(1.5)).toThrow(RangeError);
  });
});

describe('splitCache', () => {
  test('moves the first keys to a BNSH cache and keeps the rest BSHD', () => {
    const shape = { batch: 2, heads: 4, kvHeads: 2, headDim: 3 };
    const total = 5;
    const past = 3;
    const kv = Float32Array.from({ length: shape.batch * total * shape.kvHeads * shape.headDim }, (_, i) => i);
    const { past: cache, fresh } = splitCache(kv, shape, total, past);
    const bshd = (b: number, j: number, h: number, d: number) => kv[((b * total + j) * shape.kvHeads + h) * shape.headDim + d];
    for (let b = 0; b < shape.batch; b++) {
      for (let h = 0; h < shape.kvHeads; h++) {
        for (let j = 0; j < total; j++) {
          for (let d = 0; d < shape.headDim; d++) {
            const got = j < past
              ? cache[((b * shape.kvHeads + h) * past + j) * shape.headDim + d]
              : fresh[((b * (total - past) + j - past) * shape.kvHeads + h) * shape.headDim + d];
            expect(got).toBe(bshd(b, j, h, d));
          }
        }
      }
    }
    expect(cache.length + fresh.length).toBe(kv.length);
  });
});

const ort = loadOrt();
if (!ort) console.log('skipping the onnxruntime GroupQueryAttention checks: onnxruntime-node is not installed');
const describeWithOrt = ort ? describe : describe.skip;

describeWithOrt('onnxruntime GroupQueryAttention model', () => {
  const heads = { heads: 8, kvHeads: 2, headDim: 16 };

  // Prefill without a cache, decode over a cache, and a chunk of several new tokens after a cache (where only
  // bottom-right alignment is right).
  test.each([
    ['prefill', 2, 5, 0],
    ['decode', 2, 1, 9],
    ['chunk after a cache', 1, 3, 6],
  ])('%s (B=%i, %i new tokens, %i cached) matches the float64 attention', async (_name, batch, newTokens, pastTokens) => {
    const next = rng(7 + newTokens);
    const total = newTokens + pastTokens;
    const shape = { batch, ...heads };
    const q = Tensor.f32(randomFloat32(batch * newTokens * heads.heads * heads.headDim, next), [batch, newTokens, heads.heads, heads.headDim]);
    const k = Tensor.f32(randomFloat32(batch * total * heads.kvHeads * heads.headDim, next), [batch, total, heads.kvHeads, heads.headDim]);
    const v = Tensor.f32(randomFloat32(batch * total * heads.kvHeads * heads.headDim, next), [batch, total, heads.kvHeads, heads.headDim]);
    const ks = splitCache(k.data as Float32Array, shape, total, pastTokens);
    const vs = splitCache(v.data as Float32Array, shape, total, pastTokens);

    const peer = await OrtGqa.create(ort!, heads, 1);
    const out = await peer.run(peer.feeds({
      batch, query: q.data as Float32Array, key: ks.fresh, value: vs.fresh, pastKey: ks.past, pastValue: vs.past, newTokens, pastTokens,
    }));
    await peer.release();

    const expected = bruteForceAttention(q, k, v, { causal: true, alignment: 'bottom-right' }).out;
    expect(out.length).toBe(expected.length);
    let maxErr = 0;
    for (let i = 0; i < out.length; i++) maxErr = Math.max(maxErr, Math.abs(out[i] - expected[i]));
    expect(maxErr).toBeLessThan(1e-5);
  });
});
