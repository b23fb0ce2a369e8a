// f16 tensors given as Float16Arrays: the polyfill's (@petamoriken/float16, a Proxy over a Uint16Array, which is how
// Node 20 gets one) and the runtime's where it has one. Each must reach the native code as its own bytes, in place:
// inputs, outputs, device uploads and writes, and KV cache appends, with the bits a Uint16Array of the same
// patterns gives.
import { Float16Array as PolyfillFloat16Array } from '@petamoriken/float16';
import {
  BufferError, DTypeError, Device, GqaError, KVCache, Tensor, attention, attentionAsync, devices, f16,
} from '../lib';
import { toNative } from '../lib/attention';
import { native } from '../lib/native';
import { isFloat16Array } from '../lib/tensor';
import { randomFloat32, rng } from './helpers/random';

type Float16ArrayConstructor = typeof PolyfillFloat16Array;
type Float16Array = InstanceType<Float16ArrayConstructor>;

const RuntimeFloat16Array = (globalThis as { Float16Array?: Float16ArrayConstructor }).Float16Array;
const kinds: [string, Float16ArrayConstructor][] = [['the @petamoriken/float16 polyfill', PolyfillFloat16Array]];
if (RuntimeFloat16Array) {
  kinds.push(['the runtime\'s Float16Array', RuntimeFloat16Array]);
} else {
  console.log(`skipping the runtime's Float16Array cases: Node.js ${process.version} has no global Float16Array`);
}

const qShape = [1, 5, 4, 16];
const kvShape = [1, 7, 2, 16];
const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** f16 bit patterns of random values in [-2, 2). */
function randomBits(n: number, next: () => number): Uint16Array {
  return f16.fromFloat32(randomFloat32(n, next, 2));
}

/** The f16 bits of a Float16Array, read from its own memory. */
function bitsOf(a: Float16Array): Uint16Array {
  return new Uint16Array(a.buffer, a.byteOffset, a.length);
}

function detach(buffer: ArrayBufferLike): void {
  structuredClone(buffer, { transfer: [buffer as ArrayBuffer] });
}

const cpu = (): Device => devices()[0];

describe.each(kinds)('%s', (_, F16) => {
  /** A Float16Array over a copy of these bit patterns. */
  const float16Of = (bits: Uint16Array): Float16Array => new F16(bits.slice().buffer);

  test('is recognised as a Float16Array; other arrays and look-alikes are not', () => {
    const a = new F16(4);
    expect(isFloat16Array(a)).toBe(true);
    expect(isFloat16Array(a.subarray(1, 3))).toBe(true);
    expect(isFloat16Array(new Uint16Array(4))).toBe(false);
    expect(isFloat16Array(new Float32Array(4))).toBe(false);
    // Named Float16Array but with elements outside its buffer.
    expect(isFloat16Array({ constructor: { name: 'Float16Array' }, BYTES_PER_ELEMENT: 2, buffer: new ArrayBuffer(4), byteOffset: 0, byteLength: 8, length: 4 })).toBe(false);
  });

  test('holds the values of its bit patterns', () => {
    const bits = randomBits(64, rng(1));
    const a = float16Of(bits);
    expect(Array.from(a)).toEqual(Array.from(f16.toFloat32(bits)));
    expect(Tensor.f16(a, [64]).toFloat32()).toEqual(f16.toFloat32(bits));
  });

  test.each([false, true])('attention gives the bits of the same Uint16Array patterns (async: %s)', async (async) => {
    const next = rng(2);
    const [qBits, kBits, vBits] = [randomBits(count(qShape), next), randomBits(count(kvShape), next), randomBits(count(kvShape), next)];
    const options = { causal: 'bottom-right' as const };
    const run = async (q: Tensor, k: Tensor, v: Tensor, out: Tensor) => {
      if (async) await attentionAsync(q, k, v, { ...options, out });
      else attention(q, k, v, { ...options, out });
    };
    const expected = new Uint16Array(count(qShape));
    await run(Tensor.f16(qBits, qShape), Tensor.f16(kBits, kvShape), Tensor.f16(vBits, kvShape), Tensor.f16(expected, qShape));

    const out = new F16(count(qShape)).fill(NaN);
    await run(Tensor.f16(float16Of(qBits), qShape), Tensor.f16(float16Of(kBits), kvShape), Tensor.f16(float16Of(vBits), kvShape), Tensor.f16(out, qShape));
    expect(bitsOf(out)).toEqual(expected);
    expect(expected.some((b) => b !== 0)).toBe(true);
  });

  test('a Float16Array `out` is f16 and is the result\'s memory, also for f32 inputs', () => {
    const next = rng(3);
    const q = Tensor.f32(randomFloat32(count(qShape), next), qShape);
    const k = Tensor.f32(randomFloat32(count(kvShape), next), kvShape);
    const v = Tensor.f32(randomFloat32(count(kvShape), next), kvShape);
    const expected = attention(q, k, v, { outDtype: 'f16' });
    const out = new F16(count(qShape));
    const result = attention(q, k, v, { out });
    expect(result.dtype).toBe('f16');
    expect(result.data).toBe(out);
    expect(bitsOf(out)).toEqual(expected.data);
  });

  test('values written by JS are seen by the next native call, and the result lands in the caller\'s memory', () => {
    const next = rng(4);
    const q = Tensor.f16(float16Of(randomBits(count(qShape), next)), qShape);
    const k = Tensor.f16(float16Of(randomBits(count(kvShape), next)), kvShape);
    const vData = float16Of(randomBits(count(kvShape), next));
    const v = Tensor.f16(vData, kvShape);
    const outData = new F16(count(qShape)).fill(NaN);
    const out = attention(q, k, v, { out: outData });
    expect(out.data).toBe(outData);
    expect(Array.from(outData).some(Number.isNaN)).toBe(false);
    expect(Array.from(outData).every((x) => x === 1)).toBe(false);

    // V all ones, written through the Float16Array: every output must be exactly 1.
    vData.fill(1);
    attention(q, k, v, { out });
    expect(Array.from(outData).every((x) => x === 1)).toBe(true);
  });

  test('views at an offset into a larger buffer are read and written there and nowhere else', async () => {
    const next = rng(5);
    const n = count(qShape);
    const sentinel = 0x7e5a;  // a NaN pattern the output cannot produce
    // Thirds of one buffer: sentinels, q, out (byte offsets, two bytes an element).
    const big = new Uint16Array(3 * n).fill(sentinel);
    big.set(randomBits(n, next), n);
    const q = Tensor.f16(new F16(big.buffer, 2 * n, n), qShape);
    const k = Tensor.f16(float16Of(randomBits(count(kvShape), next)), kvShape);
    const v = Tensor.f16(float16Of(randomBits(count(kvShape), next)), kvShape);
    const expected = attention(Tensor.f16(big.slice(n, 2 * n), qShape), k, v);
    await attentionAsync(q, k, v, { out: new F16(big.buffer, 4 * n, n) });
    expect(big.subarray(2 * n)).toEqual(expected.data);
    expect(big.subarray(0, n).every((b) => b === sentinel)).toBe(true);
  });

  test('a Float16Array declared f32 or bf16 gets a DTypeError naming the argument', () => {
    const data = new F16(count(qShape));
    expect(() => new Tensor(data, 'f32', qShape)).toThrow(DTypeError);
    expect(() => new Tensor(data, 'f32', qShape)).toThrow(/^data: dtype f32 needs a Float32Array, received Float16Array$/);
    expect(() => new Tensor(data, 'bf16', qShape)).toThrow(DTypeError);
    expect(() => new Tensor(data, 'bf16', qShape)).toThrow(/^data: dtype bf16 needs a Uint16Array, received Float16Array$/);
    expect(() => Tensor.bf16(data as never, qShape)).toThrow(/^data: dtype bf16/);

    const q = Tensor.f16(new F16(count(qShape)), qShape);
    const k = Tensor.f16(new F16(count(kvShape)), kvShape);
    for (const outDtype of ['f32', 'bf16'] as const) {
      expect(() => attention(q, k, k, { out: data, outDtype })).toThrow(DTypeError);
      expect(() => attention(q, k, k, { out: data, outDtype })).toThrow(new RegExp(`^out: a Float16Array output is f16, received outDtype ${outDtype}$`));
    }
  });

  test('a detached buffer gets the BufferError a detached Uint16Array gets', async () => {
    const errorOf = (call: () => unknown): GqaError => {
      try {
        call();
      } catch (err) {
        return err as GqaError;
      }
      throw new Error('no error');
    };
    const k = Tensor.f16(new F16(count(kvShape)), kvShape);
    const detachedF16 = Tensor.f16(new F16(count(qShape)), qShape);
    const detachedU16 = Tensor.f16(new Uint16Array(count(qShape)), qShape);
    detach(detachedF16.data.buffer);
    detach(detachedU16.data.buffer);

    for (const [name, call] of [
      ['q', (q: Tensor) => attention(q, k, k)],
      ['out', (q: Tensor) => attention(Tensor.f16(new F16(count(qShape)), qShape), k, k, { out: q })],
      ['tensor', (q: Tensor) => cpu().upload(q)],
    ] as const) {
      const f16Error = errorOf(() => call(detachedF16));
      const u16Error = errorOf(() => call(detachedU16));
      expect(f16Error).toBeInstanceOf(BufferError);
      expect(f16Error.message).toMatch(new RegExp(`^${name}: `));
      expect(f16Error.message).toBe(u16Error.message);
    }
    await expect(attentionAsync(detachedF16, k, k)).rejects.toThrow(BufferError);

    // Past the TS checks (an empty shape needs no elements), the native binding refuses a detached Uint16Array; the
    // facade refuses a detached Float16Array the same way before the call.
    const empty = [1, 0, 4, 16];
    expect(errorOf(() => native().attention(toNative(new Tensor(detachedU16.data, 'f16', empty), 'q'), toNative(k), toNative(k), toNative(k))))
      .toMatchObject({ code: 'ERR_GQA_BUFFER', message: 'q.data: the ArrayBuffer is detached' });
    expect(errorOf(() => toNative(new Tensor(detachedF16.data, 'f16', empty), 'q')))
      .toMatchObject({ code: 'ERR_GQA_BUFFER', message: 'q: the ArrayBuffer is detached' });
    expect(errorOf(() => attention(new Tensor(detachedF16.data, 'f16', empty), k, k))).toBeInstanceOf(BufferError);
  });

  test('device upload, write and download move the bits in place', async () => {
    const next = rng(6);
    const bits = randomBits(count(qShape), next);
    const host = float16Of(bits);
    const device = cpu().upload(Tensor.f16(host, qShape));
    expect(device.download().data).toEqual(bits);

    // A JS write to the same Float16Array reaches the device through write().
    const newBits = randomBits(count(qShape), next);
    bitsOf(host).set(newBits);
    device.write(Tensor.f16(host, qShape));
    expect((await device.downloadAsync()).data).toEqual(newBits);
    expect((await cpu().uploadAsync(Tensor.f16(host, qShape))).download().data).toEqual(newBits);
    device.dispose();

    const detached = Tensor.f16(new F16(count(qShape)), qShape);
    const target = cpu().empty('f16', qShape);
    detach(detached.data.buffer);
    expect(() => target.write(detached)).toThrow(BufferError);
    expect(() => target.write(detached)).toThrow(/^host: /);
    target.dispose();
  });

  test.each(['host', 'cpu device'] as const)('KV cache appends copy the bits (%s pools)', async (where) => {
    const next = rng(7);
    const heads = kvShape[2];
    const headDim = kvShape[3];
    const make = () => new KVCache({ heads, headDim, dtype: 'f16', pageSize: 4, numPages: 8, device: where === 'host' ? undefined : cpu() });
    const fromU16 = make();
    const fromF16 = make();
    const [a, b] = [fromU16.addSequence(), fromF16.addSequence()];
    for (const tokens of [5, 1]) {
      const shape = [1, tokens, heads, headDim];
      const [kBits, vBits] = [randomBits(count(shape), next), randomBits(count(shape), next)];
      fromU16.append([a], Tensor.f16(kBits, shape), Tensor.f16(vBits, shape));
      await fromF16.appendAsync([b], Tensor.f16(float16Of(kBits), shape), Tensor.f16(float16Of(vBits), shape));
    }
    const pool = (t: KVCache['k']) => (t instanceof Tensor ? t : t.download()).data;
    expect(pool(fromF16.k)).toEqual(pool(fromU16.k));
    expect(pool(fromF16.v)).toEqual(pool(fromU16.v));
    expect(Array.from(pool(fromF16.k)).some((x) => x !== 0)).toBe(true);

    const qBits = randomBits(count([1, 1, 4, headDim]), next);
    const qOf = (q: Tensor) => (where === 'host' ? q : cpu().upload(q));
    const expected = fromU16.attention([a], qOf(Tensor.f16(qBits, [1, 1, 4, headDim])));
    const got = fromF16.attention([b], qOf(Tensor.f16(float16Of(qBits), [1, 1, 4, headDim])));
    expect(pool(got)).toEqual(pool(expected));

    const detachedK = Tensor.f16(new F16(count([1, 1, heads, headDim])), [1, 1, heads, headDim]);
    detach(detachedK.data.buffer);
    expect(() => fromF16.append([b], detachedK, detachedK)).toThrow(BufferError);
    expect(() => fromF16.append([b], detachedK, detachedK)).toThrow(/^k: /);
    expect(fromF16.length(b)).toBe(6);
    fromU16.dispose();
    fromF16.dispose();
  });
});
