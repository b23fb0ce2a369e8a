// Device tensors on a GPU: round trips, attention on device tensors against the float64 reference with the parity
// tolerances, results staying on the device, out-of-memory as a typed error, and many async calls under GC. Each
// test prints "skipped: <reason>" and returns where no GPU is usable.
import * as v8 from 'v8';
import * as vm from 'vm';
import { AttentionOptions, DeviceTensor, DType, OutOfMemoryError, Tensor, attention, attentionAsync } from '../lib';
import { errorStats, values } from '../scripts/parity/metrics';
import { check, outBounds } from '../scripts/parity/tolerance';
import { usableGpu } from './helpers/gpu';
import { randomFloat32, rng } from './helpers/random';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function bits(t: Tensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

test('upload and download are bit-exact for every dtype and strided layouts', async () => {
  const gpu = usableGpu();
  if (!gpu) return;
  for (const dtype of ['f32', 'bf16', 'f16'] as DType[]) {
    const n = 2 * 33 * 3 * 64;
    const data = dtype === 'f32'
      ? new Float32Array(Uint32Array.from({ length: n }, (_, i) => (i * 2654435761) >>> 0).buffer)
      : Uint16Array.from({ length: n }, (_, i) => (i * 40503) & 0xffff);
    const host = new Tensor(data, dtype, [2, 33, 3, 64]).transpose(1, 2);
    const d = gpu.upload(host);
    expect(bits(d.download())).toEqual(bits(host));
    expect(bits(await (await gpu.uploadAsync(host)).downloadAsync())).toEqual(bits(host));
    d.dispose();
  }
});

const cases: { name: string; dtype: DType; shape: [number, number, number, number, number, number]; options: AttentionOptions }[] = [
  { name: 'bf16 GQA decode', dtype: 'bf16', shape: [4, 1, 777, 32, 8, 128], options: { causal: 'bottom-right' } },
  { name: 'bf16 GQA prefill, causal', dtype: 'bf16', shape: [2, 100, 100, 8, 2, 64], options: { causal: true } },
  { name: 'f16 uneven head map, window, softcap', dtype: 'f16', shape: [1, 37, 61, 5, 2, 64], options: { headMap: [0, 0, 0, 1, 1], window: [16, 0], softcap: 30 } },
  { name: 'f32 MQA with sinks', dtype: 'f32', shape: [3, 9, 40, 4, 1, 32], options: { sinks: new Float32Array([0, 1, -1, 2]) } },
];

test.each(cases)('attention on device tensors matches the float64 reference within the parity tolerance ($name)', ({ dtype, shape, options }) => {
  const gpu = usableGpu();
  if (!gpu) return;
  const [B, Sq, Skv, Hq, Hkv, D] = shape;
  const next = rng(Sq * 131 + Skv);
  const q = Tensor.fromFloat32(randomFloat32(B * Sq * Hq * D, next), dtype, [B, Sq, Hq, D]);
  const k = Tensor.fromFloat32(randomFloat32(B * Skv * Hkv * D, next), dtype, [B, Skv, Hkv, D]);
  const v = Tensor.fromFloat32(randomFloat32(B * Skv * Hkv * D, next), dtype, [B, Skv, Hkv, D]);
  const golden = values(attention(q, k, v, { ...options, backend: 'reference', outDtype: 'f32' }));
  const lpRef = values(attention(q, k, v, { ...options, backend: 'reference-f32' }));
  const out = attention(gpu.upload(q), gpu.upload(k), gpu.upload(v), options);
  expect(out).toBeInstanceOf(DeviceTensor);
  expect(out.device).toBe(gpu);
  const got = out.download();
  expect(check('out', errorStats(values(got), golden), outBounds(dtype, errorStats(lpRef, golden)))).toEqual([]);
  // The host-tensor path runs the same kernel: same bits.
  expect(bits(got)).toEqual(bits(attention(q, k, v, { ...options, backend: gpu.kind as 'cuda' | 'rocm' })));
});

test('results stay on the device and feed the next call without a host round trip', () => {
  const gpu = usableGpu();
  if (!gpu) return;
  const next = rng(5);
  const make = () => Tensor.fromFloat32(randomFloat32(2 * 16 * 4 * 64, next), 'bf16', [2, 16, 4, 64]);
  const [q, k, v] = [make(), make(), make()];
  const first = attention(gpu.upload(q), gpu.upload(k), gpu.upload(v));
  const second = attention(first, gpu.upload(k), gpu.upload(v));
  expect(second).toBeInstanceOf(DeviceTensor);
  const hostFirst = attention(q, k, v, { backend: gpu.kind as 'cuda' });
  expect(bits(second.download())).toEqual(bits(attention(hostFirst, k, v, { backend: gpu.kind as 'cuda' })));
});

test('a huge allocation is an OutOfMemoryError, and the device stays usable', () => {
  const gpu = usableGpu();
  if (!gpu) return;
  expect(() => gpu.empty('f32', [1, 2 ** 20, 2 ** 10, 2 ** 10])).toThrow(OutOfMemoryError);
  const t = Tensor.f32(Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8), [1, 1, 1, 8]);
  expect(bits(gpu.upload(t).download())).toEqual(bits(t));
});

test('many concurrent async calls with device tensors disposed and collected in flight give the synchronous result', async () => {
  const gpu = usableGpu();
  if (!gpu) return;
  const pending: Promise<[Tensor, Tensor]>[] = [];
  for (let c = 0; c < 64; c++) {
    const next = rng(900 + c);
    const q = Tensor.fromFloat32(randomFloat32(33 * 8 * 64, next), 'bf16', [1, 33, 8, 64]);
    const k = Tensor.fromFloat32(randomFloat32(47 * 2 * 64, next), 'bf16', [1, 47, 2, 64]);
    const v = Tensor.fromFloat32(randomFloat32(47 * 2 * 64, next), 'bf16', [1, 47, 2, 64]);
    const want = attention(gpu.upload(q), gpu.upload(k), gpu.upload(v), { causal: true }).download();
    const [dq, dk, dv] = [gpu.upload(q), gpu.upload(k), gpu.upload(v)];
    pending.push(attentionAsync(dq, dk, dv, { causal: true }).then(async (out) => [await out.downloadAsync(), want]));
    dq.dispose();
    dk.dispose();
    dv.dispose();
    gc();
  }
  for (let i = 0; i < 5; i++) gc();
  for (const [got, want] of await Promise.all(pending)) expect(bits(got)).toEqual(bits(want));
});
