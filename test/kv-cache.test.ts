// The paged KV cache: appends land in pages, and attention over the cache equals attention over the same keys
// laid out contiguously, for a batch of sequences of different lengths.
import { KVCache, OutOfMemoryError, Tensor, attention } from '../lib';
import { randomFloat32, rng } from './helpers/random';

const Hkv = 2;
const Hq = 6;
const D = 16;

test.each(['reference', 'cpu'] as const)('decode over a paged cache equals contiguous attention (%s)', (backend) => {
  const next = rng(11);
  const cache = new KVCache({ heads: Hkv, headDim: D, dtype: 'f32', pageSize: 4, numPages: 32 });
  const ids = [cache.addSequence(), cache.addSequence(), cache.addSequence()];
  const prompt = [7, 1, 13];
  // Keep every appended token to rebuild each sequence contiguously.
  const history: Float32Array[][] = ids.map(() => []);
  const appendBatch = (counts: number[]) => {
    const S = Math.max(...counts);
    const k = randomFloat32(ids.length * S * Hkv * D, next);
    const v = randomFloat32(ids.length * S * Hkv * D, next);
    cache.append(ids, Tensor.f32(k, [ids.length, S, Hkv, D]), Tensor.f32(v, [ids.length, S, Hkv, D]), counts);
    counts.forEach((n, b) => {
      for (let s = 0; s < n; s++) {
        const at = (b * S + s) * Hkv * D;
        history[b].push(k.slice(at, at + Hkv * D), v.slice(at, at + Hkv * D));
      }
    });
  };
  appendBatch(prompt);
  appendBatch([1, 1, 1]);
  appendBatch([1, 1, 1]);
  expect(ids.map((id) => cache.length(id))).toEqual([9, 3, 15]);

  const q = Tensor.f32(randomFloat32(ids.length * Hq * D, next), [ids.length, 1, Hq, D]);
  const got = cache.attention(ids, q, { backend }).toFloat32();
  ids.forEach((id, b) => {
    const n = cache.length(id);
    const k = new Float32Array(n * Hkv * D);
    const v = new Float32Array(n * Hkv * D);
    for (let s = 0; s < n; s++) { k.set(history[b][2 * s], s * Hkv * D); v.set(history[b][2 * s + 1], s * Hkv * D); }
    const qb = Tensor.f32(q.toFloat32().slice(b * Hq * D, (b + 1) * Hq * D), [1, 1, Hq, D]);
    const want = attention(qb, Tensor.f32(k, [1, n, Hkv, D]), Tensor.f32(v, [1, n, Hkv, D]), { backend: 'reference' }).toFloat32();
    const row = got.slice(b * Hq * D, (b + 1) * Hq * D);
    for (let i = 0; i < row.length; i++) expect(Math.abs(row[i] - want[i])).toBeLessThan(1e-5);
  });
});

test('pages are reused after a sequence ends, and running out is a typed error', () => {
  const cache = new KVCache({ heads: 1, headDim: 8, dtype: 'bf16', pageSize: 2, numPages: 3 });
  const a = cache.addSequence();
  const kv = Tensor.bf16(new Uint16Array(5 * 8).fill(0x3f80), [1, 5, 1, 8]);
  cache.append([a], kv, kv);
  expect(cache.freePageCount).toBe(0);
  const b = cache.addSequence();
  expect(() => cache.append([b], kv, kv)).toThrow(OutOfMemoryError);
  cache.removeSequence(a);
  expect(cache.freePageCount).toBe(3);
  cache.append([b], kv, kv);
  expect(cache.length(b)).toBe(5);
});
