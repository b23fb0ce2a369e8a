// Pinned host tensors: a typed array over native memory (zero copy), uploads from it, and dispose semantics. On
// the 'cpu' device the memory is ordinary host memory (not page-locked); on a GPU it is page-locked.
import { BufferError, OptionError, PinnedTensor, Tensor, devices } from '../lib';
import { randomFloat32, rng } from './helpers/random';
import { usableGpu } from './helpers/gpu';

/** The bytes a typed array views (not its whole ArrayBuffer). */
const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const cpu = () => devices()[0];

test('a pinned tensor is a Tensor over external native memory', () => {
  const t = cpu().pinned('f32', 64, [1, 4, 2, 8]);
  expect(t).toBeInstanceOf(PinnedTensor);
  expect(t).toBeInstanceOf(Tensor);
  expect(t.data).toBeInstanceOf(Float32Array);
  expect(t.data.length).toBe(64);
  expect(t.external).toBe(true);
  expect(t.pinned).toBe(false); // the cpu device's staging memory is not page-locked
  expect([...t.data]).toEqual(new Array(64).fill(0));
  t.data.set(randomFloat32(64, rng(1)));
  const back = cpu().upload(t).download();
  expect(bytesOf(back.data).equals(bytesOf(t.data))).toBe(true);
  t.dispose();
});

test('dispose detaches the array, is idempotent, and the tensor is unusable afterwards', () => {
  const t = cpu().pinned('bf16', 16);
  const data = t.data;
  t.dispose();
  t.dispose();
  expect(t.disposed).toBe(true);
  expect(data.length).toBe(0);
  expect(() => cpu().upload(t)).toThrow(BufferError);
});

test('an upload in flight keeps the pinned memory when the tensor is disposed', async () => {
  const t = cpu().pinned('f32', 1 << 16);
  t.data.set(randomFloat32(1 << 16, rng(2)));
  const copy = Float32Array.from(t.data);
  const pending = cpu().uploadAsync(t);
  t.dispose();
  const back = (await pending).download();
  expect(bytesOf(back.data).equals(bytesOf(copy))).toBe(true);
});

test('bad lengths and shapes are typed errors', () => {
  expect(() => cpu().pinned('f32', 0)).toThrow(OptionError);
  expect(() => cpu().pinned('f32', 8, [3, 3])).toThrow(/shape: \[3, 3\] does not hold 8 elements/);
});

test('GPU: pinned memory is page-locked and uploads from it are bit-exact', async () => {
  const gpu = usableGpu();
  if (!gpu) return;
  const t = gpu.pinned('bf16', 4096, [2, 32, 4, 16]);
  expect(t.pinned).toBe(t.external);
  t.data.set(Uint16Array.from({ length: 4096 }, (_, i) => (i * 40503) & 0xffff));
  const back = await (await gpu.uploadAsync(t)).downloadAsync();
  expect(bytesOf(back.data).equals(bytesOf(t.data))).toBe(true);
  t.dispose();
  expect(t.data.length).toBe(0);
});
