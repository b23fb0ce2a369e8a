// Devices and device tensors on every machine: devices() lists the CPU and says why no GPU is usable, GPU backends
// fail with typed errors naming the reason, and device tensors on the 'cpu' device (native host memory) go through
// the same upload, attention, dispose and async paths as GPU ones.
import * as v8 from 'v8';
import * as vm from 'vm';
import {
  BackendUnavailableError, BufferError, Device, DeviceTensor, ShapeError, Tensor, UnsupportedError, attention, attentionAsync,
  bf16, buildInfo, devices, gpu, gpuStatus,
} from '../lib';
import { native } from '../lib/native';
import { randomFloat32, rng } from './helpers/random';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const cpu = (): Device => devices()[0];

function bits(t: Tensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

describe('devices', () => {
  test('the CPU is listed first with its model, SIMD level and memory', () => {
    const [first] = devices();
    expect(first.kind).toBe('cpu');
    expect(first.index).toBe(0);
    expect(first.name.length).toBeGreaterThan(0);
    expect(first.arch).toBe(buildInfo().cpuSimd);
    expect(first.memory).toBeGreaterThan(2 ** 26);
    expect(String(first)).toBe('cpu:0');
  });

  test('GPU entries match gpuStatus(), which says why there are none', () => {
    const status = gpuStatus();
    const gpus = devices().filter((d) => d.kind !== 'cpu');
    expect(gpus.length).toBe(status.devices);
    expect(status.available).toBe(status.devices > 0);
    expect(status.kind).toBe(buildInfo().gpu);
    if (status.available) {
      gpus.forEach((d, i) => {
        expect(d.kind).toBe(status.kind);
        expect(d.index).toBe(i);
        expect(d.memory).toBeGreaterThan(0);
      });
    } else {
      // A CPU-only build says so; a GPU build names the runtime's reason (no driver, driver too old, no device).
      expect(status.reason).toMatch(status.kind === null ? /no GPU backend/ : /no (CUDA|ROCm) (driver|device)|driver too old/);
      expect(() => gpu()).toThrow(BackendUnavailableError);
      expect(() => gpu()).toThrow(status.reason);
    }
  });
});

describe('without a usable GPU', () => {
  const status = gpuStatus();
  const gpuTest = status.available ? test.skip : test;
  if (status.available) console.log(`skipped: the no-GPU error tests: ${status.reason}`);

  gpuTest.each(['cuda', 'rocm'] as const)("backend '%s' on host tensors is BackendUnavailableError naming the reason", (backend) => {
    const q = Tensor.f32(new Float32Array(2 * 8), [1, 1, 2, 8]);
    let caught: unknown;
    try {
      attention(q, q, q, { backend });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BackendUnavailableError);
    const message = (caught as Error).message;
    expect(message).toContain(`backend '${backend}'`);
    expect(message).toMatch(status.kind === backend ? status.reason : /this build has no (CUDA|ROCm) backend/);
  });

  gpuTest.each(['cuda', 'rocm'] as const)('allocating on a %s device is BackendUnavailableError', (kind) => {
    const device = new Device({ kind, index: 0, name: 'absent', arch: 'none', memory: 0 });
    const t = Tensor.f32(new Float32Array(8), [1, 1, 1, 8]);
    expect(() => device.upload(t)).toThrow(BackendUnavailableError);
    expect(() => device.pinned('f32', 8)).toThrow(BackendUnavailableError);
    expect(() => device.upload(t)).toThrow(status.kind === kind ? status.reason : 'this build has no');
  });
});

describe('device tensors on the cpu device', () => {
  test('upload and download are bit-exact, strides and NaN payloads included', () => {
    const raw = Uint16Array.from({ length: 2 * 3 * 4 * 8 }, (_, i) => (i * 2654435761) >>> 16);
    raw[5] = 0x7fc1; // a NaN payload
    const host = Tensor.bf16(raw, [2, 3, 4, 8]).transpose(1, 2);
    const d = cpu().upload(host);
    expect(d).toBeInstanceOf(DeviceTensor);
    expect(d.shape).toEqual(host.shape);
    expect(d.strides).toEqual(host.strides);
    const back = d.download();
    expect(back.strides).toEqual(host.strides);
    expect(bits(back).equals(bits(host))).toBe(true);
  });

  test('async upload and download round trip', async () => {
    const host = Tensor.f32(randomFloat32(3 * 5 * 2 * 16, rng(3)), [3, 5, 2, 16]);
    const d = await cpu().uploadAsync(host);
    const back = await d.downloadAsync();
    expect(bits(back).equals(bits(host))).toBe(true);
  });

  test('write overwrites a device tensor in place and checks the layout', async () => {
    const next = rng(8);
    const a = Tensor.f32(randomFloat32(2 * 4 * 8, next), [1, 2, 4, 8]);
    const b = Tensor.f32(randomFloat32(2 * 4 * 8, next), [1, 2, 4, 8]);
    const d = cpu().upload(a);
    d.write(b);
    expect(bits(d.download()).equals(bits(b))).toBe(true);
    await d.writeAsync(a);
    expect(bits(d.download()).equals(bits(a))).toBe(true);
    expect(() => d.write(a.transpose(1, 2))).toThrow(ShapeError);
    expect(() => d.write(Tensor.f32(new Float32Array(4), [1, 1, 4, 1]))).toThrow(/host: f32 \[1, 1, 4, 1\]/);
  });

  test('attention on device tensors equals host attention and its output stays on the device', () => {
    const next = rng(7);
    const q = Tensor.fromFloat32(randomFloat32(2 * 5 * 6 * 32, next), 'bf16', [2, 5, 6, 32]);
    const k = Tensor.fromFloat32(randomFloat32(2 * 9 * 3 * 32, next), 'bf16', [2, 9, 3, 32]);
    const v = Tensor.fromFloat32(randomFloat32(2 * 9 * 3 * 32, next), 'bf16', [2, 9, 3, 32]);
    const options = { causal: 'bottom-right', softcap: 20, sinks: new Float32Array(6).fill(0.5) } as const;
    const want = attention(q, k, v, options);
    const dev = cpu();
    const out = attention(dev.upload(q), dev.upload(k), dev.upload(v), options);
    expect(out).toBeInstanceOf(DeviceTensor);
    expect(String(out.device)).toBe('cpu:0');
    expect(bits(out.download()).equals(bits(want))).toBe(true);
    // With the LSE (a host array) too, and a caller's device output.
    const lse = attention(q, k, v, { ...options, returnLse: true }).lse;
    const given = dev.empty('bf16', q.shape);
    const r = attention(dev.upload(q), dev.upload(k), dev.upload(v), { ...options, out: given, returnLse: true });
    expect(r.out).toBe(given);
    expect(bits(r.lse).equals(bits(lse))).toBe(true);
  });

  test('tensors in different places are an UnsupportedError naming the argument', () => {
    const q = Tensor.f32(new Float32Array(8), [1, 1, 1, 8]);
    const dq = cpu().upload(q);
    expect(() => attention(dq, q as unknown as DeviceTensor, dq)).toThrow(UnsupportedError);
    expect(() => attention(dq, q as unknown as DeviceTensor, dq)).toThrow(/^k: on the host but q is on cpu:0/);
    expect(() => attention(dq, dq, dq, { out: q })).toThrow(/^out: on the host/);
  });

  test('dispose is idempotent and later use is a BufferError', () => {
    const t = Tensor.f32(new Float32Array(16), [1, 2, 1, 8]);
    const d = cpu().upload(t);
    expect(d.disposed).toBe(false);
    d.dispose();
    d.dispose();
    expect(d.disposed).toBe(true);
    expect(() => d.download()).toThrow(BufferError);
    expect(() => attention(d, d, d)).toThrow(/q: the device tensor is disposed/);
  });

  test('the native layer checks a device tensor against its allocation', () => {
    const buffer = new (native().DeviceBuffer)('cpu', 0, 4 * 8 * 4);
    const tensor = (byteOffset: number) => ({ data: buffer, byteOffset, dtype: 'f32', shape: [1, 4, 1, 8] });
    expect(() => native().attention(tensor(0), tensor(0), tensor(0), tensor(0))).not.toThrow();
    expect(() => native().attention(tensor(4), tensor(0), tensor(0), tensor(0))).toThrow(/q: shape \[1, 4, 1, 8\].*holds 31/);
    expect(() => native().attention(tensor(0), tensor(0), tensor(0), tensor(4096))).toThrow(/out.byteOffset: 4096 is past the end/);
    const host = { data: new Float32Array(32), dtype: 'f32', shape: [1, 4, 1, 8] };
    expect(() => native().attention(tensor(0), host, tensor(0), tensor(0))).toThrow(/k: on the host but q is on cpu:0/);
  });

  test('batched copies check every region against both sides', () => {
    const buffer = new (native().DeviceBuffer)('cpu', 0, 64);
    const src = Uint8Array.from({ length: 32 }, (_, i) => i);
    native().copy(buffer, src, Float64Array.of(0, 16, 16, 40, 0, 8));
    const back = new Uint8Array(64);
    native().copy(back, buffer, Float64Array.of(0, 0, 64));
    expect([...back.subarray(0, 16)]).toEqual([...src.subarray(16)]);
    expect([...back.subarray(40, 48)]).toEqual([...src.subarray(0, 8)]);
    expect(() => native().copy(buffer, src, Float64Array.of(60, 0, 8))).toThrow(/regions\[0\].*overrun dst/);
    expect(() => native().copy(buffer, src, Float64Array.of(0, 30, 4))).toThrow(/regions\[0\].*overrun src/);
    expect(() => native().copy(buffer, src, Float64Array.of(0, 0))).toThrow(/not a multiple of 3/);
  });

  test('many concurrent async calls with inputs disposed and collected in flight give the synchronous result', async () => {
    const dev = cpu();
    const shape = [1, 17, 4, 64];
    const kvShape = [1, 29, 2, 64];
    const pending: Promise<[Tensor, Tensor]>[] = [];
    for (let c = 0; c < 16; c++) {
      const next = rng(500 + c);
      const q = Tensor.f32(randomFloat32(17 * 4 * 64, next), shape);
      const k = Tensor.f32(randomFloat32(29 * 2 * 64, next), kvShape);
      const v = Tensor.f32(randomFloat32(29 * 2 * 64, next), kvShape);
      const want = attention(q, k, v, { causal: true });
      const [dq, dk, dv] = [dev.upload(q), dev.upload(k), dev.upload(v)];
      pending.push(attentionAsync(dq, dk, dv, { causal: true }).then((out) => [out.download(), want]));
      // The call holds the memory: disposing now must not free it under the worker.
      dq.dispose();
      dk.dispose();
      dv.dispose();
      if (c % 4 === 3) gc();
    }
    for (let i = 0; i < 3; i++) gc();
    for (const [got, want] of await Promise.all(pending)) expect(bits(got).equals(bits(want))).toBe(true);
  });

  test("backend 'auto' runs host tensors on the CPU", () => {
    const q = Tensor.bf16(bf16.fromFloat32(randomFloat32(3 * 2 * 8, rng(9))), [1, 3, 2, 8]);
    expect(bits(attention(q, q, q, { backend: 'auto' })).equals(bits(attention(q, q, q, { backend: 'cpu' })))).toBe(true);
  });
});
