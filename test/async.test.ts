// attentionAsync runs off the main thread and holds its buffers alive until it settles, even under GC pressure.
import * as v8 from 'v8';
import * as vm from 'vm';
import { Tensor, attention, attentionAsync } from '../lib';
import { randomFloat32, rng } from './helpers/random';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

test('many concurrent calls with forced GC all give the synchronous result', async () => {
  const calls = 64;
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
    expected.push(attention(sync.q, sync.k, sync.v, { causal: true, alignment: 'bottom-right' }).data as Float32Array);
    // Fresh arrays, referenced only by the pending call: GC must not free them.
    const again = rng(100 + c);
    const inputs = {
      q: Tensor.f32(randomFloat32(33 * 4 * 64, again), shape),
      k: Tensor.f32(randomFloat32(47 * 2 * 64, again), kvShape),
      v: Tensor.f32(randomFloat32(47 * 2 * 64, again), kvShape),
    };
    pending.push(attentionAsync(inputs.q, inputs.k, inputs.v, { causal: true, alignment: 'bottom-right' })
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
