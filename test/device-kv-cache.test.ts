// A KV cache whose pools live on a device equals the host cache: same appends (ragged, across page boundaries),
// same attention results. On the 'cpu' device everywhere; on the GPU where one is usable.
import { AnyTensor, Device, DeviceTensor, KVCache, Tensor, attention, devices } from '../lib';
import { native } from '../lib/native';
import { usableGpu } from './helpers/gpu';
import { randomFloat32, rng } from './helpers/random';

const Hkv = 2;
const Hq = 6;
const D = 32;

function bits(t: Tensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** A host cache and a device cache fed the same appends: prompts of different lengths, then two decode steps. */
function fill(device: Device, dtype: 'f32' | 'bf16') {
  const next = rng(21);
  const options = { heads: Hkv, headDim: D, dtype, pageSize: 4, numPages: 24 } as const;
  const host = new KVCache(options);
  const onDevice = new KVCache({ ...options, device });
  const ids = [0, 1, 2].map(() => [host.addSequence(), onDevice.addSequence()]);
  const append = (counts: number[]) => {
    const S = Math.max(...counts);
    const make = () => Tensor.fromFloat32(randomFloat32(ids.length * S * Hkv * D, next), dtype, [ids.length, S, Hkv, D]);
    const [k, v] = [make(), make()];
    host.append(ids.map(([h]) => h), k, v, counts);
    onDevice.append(ids.map(([, d]) => d), k, v, counts);
  };
  append([7, 1, 13]);
  append([1, 1, 1]);
  append([2, 0, 1]);
  return { host, onDevice, hostIds: ids.map(([h]) => h), deviceIds: ids.map(([, d]) => d), next };
}

test('appends reach a cpu-device cache with one batched copy per pool, and attention equals the host cache', () => {
  const device = devices()[0];
  const copy = jest.spyOn(native(), 'copy');
  const { host, onDevice, hostIds, deviceIds, next } = fill(device, 'bf16');
  expect(copy).toHaveBeenCalledTimes(3 * 2); // three appends, K and V
  copy.mockRestore();
  expect(onDevice.k).toBeInstanceOf(DeviceTensor);
  expect(bits((onDevice.k as DeviceTensor).download())).toEqual(bits(host.k as Tensor));
  expect(bits((onDevice.v as DeviceTensor).download())).toEqual(bits(host.v as Tensor));

  const q = Tensor.fromFloat32(randomFloat32(3 * Hq * D, next), 'bf16', [3, 1, Hq, D]);
  const want = host.attention(hostIds, q);
  const got = onDevice.attention(deviceIds, device.upload(q));
  expect(got).toBeInstanceOf(DeviceTensor);
  expect(bits(got.download())).toEqual(bits(want));
  onDevice.dispose();
  expect((onDevice.k as DeviceTensor).disposed).toBe(true);
});

test('appendAsync fills the device pools as append does, with one async copy per pool', async () => {
  const device = devices()[0];
  const options = { heads: Hkv, headDim: D, dtype: 'f32', pageSize: 4, numPages: 8, device } as const;
  const [syncCache, asyncCache] = [new KVCache(options), new KVCache(options)];
  const ids = [[syncCache.addSequence(), syncCache.addSequence()], [asyncCache.addSequence(), asyncCache.addSequence()]];
  const next = rng(4);
  const k = Tensor.f32(randomFloat32(2 * 6 * Hkv * D, next), [2, 6, Hkv, D]);
  const v = Tensor.f32(randomFloat32(2 * 6 * Hkv * D, next), [2, 6, Hkv, D]);
  syncCache.append(ids[0], k, v, [6, 3]);
  const copyAsync = jest.spyOn(native(), 'copyAsync');
  await asyncCache.appendAsync(ids[1], k, v, [6, 3]);
  expect(copyAsync).toHaveBeenCalledTimes(2);
  copyAsync.mockRestore();
  expect(asyncCache.length(ids[1][1])).toBe(3);
  expect(bits((asyncCache.k as DeviceTensor).download())).toEqual(bits((syncCache.k as DeviceTensor).download()));
  expect(bits((asyncCache.v as DeviceTensor).download())).toEqual(bits((syncCache.v as DeviceTensor).download()));
});

test('GPU: a device cache equals the host cache run on the same GPU, and the reference within tolerance', async () => {
  const gpu = usableGpu();
  if (!gpu) return;
  const backend = gpu.kind as 'cuda' | 'rocm';
  const { host, onDevice, hostIds, deviceIds, next } = fill(gpu, 'bf16');
  const q = Tensor.fromFloat32(randomFloat32(3 * Hq * D, next), 'bf16', [3, 1, Hq, D]);
  const onHost = host.attention(hostIds, q, { backend });
  const dq = gpu.upload(q);
  const got = onDevice.attention(deviceIds, dq);
  expect(got).toBeInstanceOf(DeviceTensor);
  expect(bits(got.download())).toEqual(bits(onHost)); // same kernel, same inputs: same bits
  const gotAsync = await onDevice.attentionAsync(deviceIds, dq);
  expect(bits(gotAsync.download())).toEqual(bits(onHost));
  const reference = host.attention(hostIds, q, { backend: 'reference', outDtype: 'f32' }).toFloat32();
  got.download().toFloat32().forEach((x, i) => expect(Math.abs(x - reference[i])).toBeLessThan(2e-2));
  // Host tensors cannot read a device cache: the error names the argument.
  expect(() => attention<AnyTensor>(q, onDevice.k, onDevice.v)).toThrow(/^k: on /);
  onDevice.dispose();
});
