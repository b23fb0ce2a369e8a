// Bad input gets a typed error naming the argument, from the TypeScript layer and again from the native layer
// when the binding is called directly.
import {
  BufferError, DTypeError, GqaError, HeadMapError, OffsetsError, OptionError, ShapeError, StrideError, Tensor,
  UnsupportedError, attention,
} from '../lib';
import { toNative } from '../lib/attention';
import { native } from '../lib/native';

const f32 = (shape: number[], n = shape.reduce((a, b) => a * b, 1)) => Tensor.f32(new Float32Array(n).fill(0.5), shape);
const q = f32([1, 4, 4, 8]);
const k = f32([1, 5, 2, 8]);

interface BadCase {
  name: string;
  error: new (m: string) => GqaError;
  message: RegExp;
  call: () => unknown;
}

const tsCases: BadCase[] = [
  { name: 'q rank 3', error: ShapeError, message: /q: expected rank 4/, call: () => attention(f32([4, 4, 8]), k, k) },
  { name: 'k/v shapes differ', error: ShapeError, message: /v: shape/, call: () => attention(q, k, f32([1, 6, 2, 8])) },
  { name: 'batch differs', error: ShapeError, message: /k: batch/, call: () => attention(q, f32([2, 5, 2, 8]), f32([2, 5, 2, 8])) },
  { name: 'head dims differ', error: ShapeError, message: /k: head dim/, call: () => attention(q, f32([1, 5, 2, 16]), f32([1, 5, 2, 16])) },
  { name: 'mismatched dtypes', error: DTypeError, message: /share one dtype/, call: () => attention(q, Tensor.bf16(new Uint16Array(80), [1, 5, 2, 8]), k) },
  { name: 'wrong array for dtype', error: DTypeError, message: /data: dtype bf16 needs a Uint16Array/, call: () => new Tensor(new Float32Array(8), 'bf16', [1, 1, 1, 8]) },
  { name: 'unknown dtype', error: DTypeError, message: /dtype/, call: () => new Tensor(new Float32Array(8), 'f64' as never, [1, 1, 1, 8]) },
  { name: 'Hq not a multiple of Hkv', error: HeadMapError, message: /pass a headMap/, call: () => attention(f32([1, 4, 3, 8]), k, k) },
  { name: 'head map out of range', error: HeadMapError, message: /headMap\[2\] = 2/, call: () => attention(q, k, k, { headMap: new Int32Array([0, 1, 2, 0]) }) },
  { name: 'head map length', error: HeadMapError, message: /headMap: expected length 4/, call: () => attention(q, k, k, { headMap: new Int32Array([0, 1]) }) },
  { name: 'strides past the buffer', error: StrideError, message: /q: strides/, call: () => attention(Tensor.f32(new Float32Array(128), [1, 4, 4, 8], [0, 64, 8, 1]), k, k) },
  { name: 'negative stride', error: StrideError, message: /strides/, call: () => Tensor.f32(new Float32Array(128), [1, 4, 4, 8], [0, -32, 8, 1]) },
  { name: 'buffer too small', error: BufferError, message: /q: shape \[1, 4, 4, 8\] needs 128/, call: () => attention(f32([1, 4, 4, 8], 100), k, k) },
  { name: 'output too small', error: BufferError, message: /out: shape \[1, 4, 4, 8\] needs 128/, call: () => attention(q, k, k, { out: new Float32Array(10) }) },
  { name: 'output shape', error: ShapeError, message: /out: shape/, call: () => attention(q, k, k, { out: f32([1, 4, 4, 16]) }) },
  { name: 'unsupported head dim', error: UnsupportedError, message: /head dim 12 is not supported/, call: () => attention(f32([1, 1, 1, 12]), f32([1, 1, 1, 12]), f32([1, 1, 1, 12])) },
  { name: 'negative size', error: ShapeError, message: /shape: expected non-negative integers/, call: () => f32([1, -4, 4, 8], 8) },
  { name: 'non-integer size', error: ShapeError, message: /shape: expected non-negative integers/, call: () => f32([1, 1.5, 4, 8], 8) },
  { name: 'offsets not monotonic', error: OffsetsError, message: /cuSeqlensQ is not monotonic/, call: () => attention(f32([4, 4, 8]), f32([5, 2, 8]), f32([5, 2, 8]), { cuSeqlensQ: new Int32Array([0, 3, 2]), cuSeqlensKv: new Int32Array([0, 2, 5]) }) },
  { name: 'offsets past the tensor', error: OffsetsError, message: /cuSeqlensKv\[2\] = 9 exceeds/, call: () => attention(f32([4, 4, 8]), f32([5, 2, 8]), f32([5, 2, 8]), { cuSeqlensQ: new Int32Array([0, 2, 4]), cuSeqlensKv: new Int32Array([0, 2, 9]) }) },
  { name: 'only one offsets array', error: OffsetsError, message: /given together/, call: () => attention(f32([4, 4, 8]), f32([5, 2, 8]), f32([5, 2, 8]), { cuSeqlensQ: new Int32Array([0, 4]) }) },
  { name: 'softcap negative', error: OptionError, message: /softcap/, call: () => attention(q, k, k, { softcap: -1 }) },
  { name: 'scale NaN', error: OptionError, message: /scale/, call: () => attention(q, k, k, { scale: NaN }) },
  { name: 'window not integers', error: OptionError, message: /window\[0\]/, call: () => attention(q, k, k, { window: [1.5, 0] }) },
  { name: 'window below -1', error: OptionError, message: /window\[1\]/, call: () => attention(q, k, k, { window: [1, -2] }) },
  { name: 'sinks length', error: OptionError, message: /sinks: expected length 4/, call: () => attention(q, k, k, { sinks: new Float32Array(3) }) },
  { name: 'unknown backend', error: OptionError, message: /backend/, call: () => attention(q, k, k, { backend: 'tpu' as never }) },
  { name: 'bad causal', error: OptionError, message: /causal/, call: () => attention(q, k, k, { causal: 'yes' as never }) },
];

test.each(tsCases)('TS layer: $name', ({ error, message, call }) => {
  expect(call).toThrow(error);
  expect(call).toThrow(message);
  try { call(); } catch (e) { expect((e as GqaError).code).toMatch(/^ERR_GQA_/); }
});

test('detached ArrayBuffer', () => {
  const data = new Float32Array(128).fill(1);
  const t = Tensor.f32(data, [1, 4, 4, 8]);
  structuredClone(data.buffer, { transfer: [data.buffer] });
  expect(() => attention(t, k, k)).toThrow(BufferError);
  expect(() => native().attention(toNative(t), toNative(k), toNative(k), toNative(q))).toThrow(/detached/);
});

// Direct binding calls: the C++ layer must re-check what the TS layer checks, with the same error codes.
const n = toNative;
const nativeCases: { name: string; code: string; message: RegExp; args: unknown[] }[] = [
  { name: 'not a tensor', code: 'ERR_GQA_SHAPE', message: /q: expected a tensor/, args: [42, n(k), n(k), n(q)] },
  { name: 'rank', code: 'ERR_GQA_SHAPE', message: /q: expected rank 4/, args: [{ ...n(q), shape: [4, 4, 8], strides: undefined }, n(k), n(k), n(q)] },
  { name: 'shape past the buffer', code: 'ERR_GQA_BUFFER', message: /q: shape \[1, 40, 4, 8\]/, args: [{ ...n(q), shape: [1, 40, 4, 8], strides: undefined }, n(k), n(k), { ...n(q), shape: [1, 40, 4, 8], strides: undefined }] },
  { name: 'strides past the buffer', code: 'ERR_GQA_BUFFER', message: /q:.*reaches element/, args: [{ ...n(q), strides: [0, 1000, 8, 1] }, n(k), n(k), n(q)] },
  { name: 'negative stride', code: 'ERR_GQA_STRIDE', message: /q.strides\[1\]/, args: [{ ...n(q), strides: [0, -32, 8, 1] }, n(k), n(k), n(q)] },
  { name: 'dtype vs array', code: 'ERR_GQA_DTYPE', message: /q: dtype bf16 needs/, args: [{ ...n(q), dtype: 'bf16' }, n(k), n(k), n(q)] },
  { name: 'dtype mismatch', code: 'ERR_GQA_DTYPE', message: /share one dtype/, args: [n(q), { data: new Uint16Array(80), dtype: 'bf16', shape: [1, 5, 2, 8] }, n(k), n(q)] },
  { name: 'unknown dtype', code: 'ERR_GQA_DTYPE', message: /dtype must be/, args: [{ ...n(q), dtype: 'int8' }, n(k), n(k), n(q)] },
  { name: 'head map range', code: 'ERR_GQA_HEAD_MAP', message: /headMap\[0\] = 9/, args: [n(q), n(k), n(k), n(q), { headMap: new Int32Array([9, 0, 0, 0]) }] },
  { name: 'head map type', code: 'ERR_GQA_DTYPE', message: /headMap: expected an Int32Array/, args: [n(q), n(k), n(k), n(q), { headMap: [0, 0, 1, 1] }] },
  { name: 'Hq % Hkv', code: 'ERR_GQA_HEAD_MAP', message: /not a multiple/, args: [{ ...n(f32([1, 4, 3, 8])) }, n(k), n(k), n(f32([1, 4, 3, 8]))] },
  { name: 'output too small', code: 'ERR_GQA_BUFFER', message: /out:/, args: [n(q), n(k), n(k), { ...n(q), data: new Float32Array(8) }] },
  { name: 'unsupported head dim', code: 'ERR_GQA_UNSUPPORTED', message: /head dim 4/, args: [n(f32([1, 1, 1, 4])), n(f32([1, 1, 1, 4])), n(f32([1, 1, 1, 4])), n(f32([1, 1, 1, 4]))] },
  { name: 'fractional size', code: 'ERR_GQA_SHAPE', message: /q.shape\[1\]/, args: [{ ...n(q), shape: [1, 2.5, 4, 8] }, n(k), n(k), n(q)] },
  { name: 'huge size', code: 'ERR_GQA_SHAPE', message: /q.shape\[1\]/, args: [{ ...n(q), shape: [1, 2 ** 40, 4, 8] }, n(k), n(k), n(q)] },
  { name: 'offsets', code: 'ERR_GQA_OFFSETS', message: /cuSeqlensQ is not monotonic/, args: [n(f32([4, 4, 8])), n(f32([5, 2, 8])), n(f32([5, 2, 8])), n(f32([4, 4, 8])), { cuSeqlensQ: new Int32Array([0, 3, 1]), cuSeqlensKv: new Int32Array([0, 1, 5]) }] },
  { name: 'page table out of range', code: 'ERR_GQA_OFFSETS', message: /pageTable\[0\]\[1\] = 7/, args: [n(f32([1, 1, 4, 8])), n(f32([3, 4, 2, 8])), n(f32([3, 4, 2, 8])), n(f32([1, 1, 4, 8])), { pageTable: new Int32Array([0, 7]), pagesPerSeq: 2, seqlensKv: new Int32Array([6]) }] },
  { name: 'lse too small', code: 'ERR_GQA_BUFFER', message: /lse: needs 16/, args: [n(q), n(k), n(k), n(q), { lse: new Float32Array(3) }] },
  { name: 'bad option type', code: 'ERR_GQA_OPTION', message: /scale: expected a number/, args: [n(q), n(k), n(k), n(q), { scale: 'big' }] },
  { name: 'unknown fault', code: 'ERR_GQA_OPTION', message: /fault/, args: [n(q), n(k), n(k), n(q), { fault: 'cosmic-ray' }] },
];

test.each(nativeCases)('native layer: $name', ({ code, message, args }) => {
  const call = () => (native().attention as (...a: unknown[]) => void)(...args);
  expect(call).toThrow(message);
  try { call(); } catch (e) { expect((e as { code: string }).code).toBe(code); }
});
