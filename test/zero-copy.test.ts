// The addon reads the caller's typed arrays in place and writes into the caller's output buffer.
import { Tensor, attention, attentionAsync } from '../lib';
import { randomFloat32, rng } from './helpers/random';

const shape = [1, 4, 2, 16];

test('a write in JS is seen by the next native call, and the output is the caller\'s memory', () => {
  const next = rng(7);
  const q = Tensor.f32(randomFloat32(128, next), shape);
  const k = Tensor.f32(randomFloat32(128, next), shape);
  const vData = randomFloat32(128, next);
  const v = Tensor.f32(vData, shape);
  const outData = new Float32Array(128).fill(NaN);
  const out = attention(q, k, v, { out: outData });
  expect(out.data).toBe(outData);  // same object, no copy
  expect(outData.some(Number.isNaN)).toBe(false);

  // Change V in place (all ones): the next call must see it, through the same Tensor object.
  vData.fill(1);
  const again = attention(q, k, v, { out });
  expect(again).toBe(out);
  expect(Array.from(outData).every((x) => x === 1)).toBe(true);
});

test('output through a view of a larger buffer lands exactly there and nowhere else', async () => {
  const next = rng(8);
  const q = Tensor.f32(randomFloat32(128, next), shape);
  const k = Tensor.f32(randomFloat32(128, next), shape);
  const v = Tensor.f32(new Float32Array(128).fill(1), shape);
  const big = new Float32Array(256).fill(-7);
  const window = new Float32Array(big.buffer, 64 * 4, 128);
  await attentionAsync(q, k, v, { out: window });
  expect(Array.from(big.subarray(0, 64)).every((x) => x === -7)).toBe(true);
  expect(Array.from(big.subarray(64, 192)).every((x) => x === 1)).toBe(true);
  expect(Array.from(big.subarray(192)).every((x) => x === -7)).toBe(true);
});

test('views of a SharedArrayBuffer are read and written in place, sync and async, bit for bit as ArrayBuffers', async () => {
  const next = rng(9);
  const shared = (data: Float32Array) => {
    const copy = new Float32Array(new SharedArrayBuffer(data.byteLength));
    copy.set(data);
    return copy;
  };
  const [qData, kData, vData] = [randomFloat32(128, next), randomFloat32(128, next), randomFloat32(128, next)];
  const expected = attention(Tensor.f32(qData, shape), Tensor.f32(kData, shape), Tensor.f32(vData, shape)).data;
  const q = Tensor.f32(shared(qData), shape), k = Tensor.f32(shared(kData), shape), v = Tensor.f32(shared(vData), shape);
  const outData = new Float32Array(new SharedArrayBuffer(128 * 4)).fill(NaN);
  expect(attention(q, k, v, { out: outData }).data).toBe(outData);
  expect(Array.from(outData)).toEqual(Array.from(expected as Float32Array));
  outData.fill(NaN);
  expect(((await attentionAsync(q, k, v, { out: outData })) as Tensor).data).toBe(outData);
  expect(Array.from(outData)).toEqual(Array.from(expected as Float32Array));
});
