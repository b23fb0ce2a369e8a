// Tensor: a zero-copy view of a caller's typed array with a dtype, a shape and element strides. Nothing is copied:
// the native code reads and writes `data` in place.
import { DType, bf16, dtypeSize, f16 } from './dtype';
import { BufferError, DTypeError, ShapeError, StrideError } from './errors';
import { native } from './native';

/**
 * A Float16Array: the runtime's (Node 24 and later) or a polyfill's such as @petamoriken/float16 (a Proxy over a
 * Uint16Array). Its elements are numbers; its f16 bits are the bytes of `buffer`. Typed by shape, since the
 * TypeScript library this package compiles against has no Float16Array.
 */
export interface Float16ArrayLike {
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly length: number;
  [index: number]: number;
  subarray(begin?: number, end?: number): Float16ArrayLike;
  /** Stores values (rounded to f16), as Float16Array.prototype.set does. */
  set(values: ArrayLike<number>, offset?: number): void;
  [Symbol.iterator](): IterableIterator<number>;
}

// The typed arrays Tensor allocates start on a 64-byte boundary, as PyTorch's CPU allocator and this package's 'cpu'
// device buffers do: a K or V row of a whole number of cache lines then never has a vector load straddle two. glibc
// places large ArrayBuffers 16 bytes past a page, and f32 decode (Hq=32, Hkv=8, D=128, 2048 keys, 2 threads, 2-core
// Zen 5 VM) over K and V placed so ran 3-4% slower, in alternate calls of one process. V8 tells JS no addresses: the
// addon does, and without one the storage is left as allocated.
const STORAGE_ALIGNMENT = 64;
// Storage of a huge page (2 MiB) or more starts on a 2 MiB boundary, with transparent huge pages asked for where the
// system has them (Linux): the buffer holds one huge page more than the storage, and that part is never written.
// Decode over K and V on huge pages took 0.87-0.98x the time over 4 KiB pages (same machine and case;
// csrc/cpu/huge_pages.h, docs/benchmarks.md).
const HUGE_PAGE_BYTES = 2 * 1024 * 1024;

interface Placement {
  alignmentOffset(buffer: ArrayBuffer): number;
  placeOnHugePages?(buffer: ArrayBuffer, bytes: number): number;
}
let placement: Placement | null | undefined;

function storagePlacement(): Placement | null {
  if (placement !== undefined) return placement;
  try {
    const binding = native();
    // A binary from before alignmentOffset or placeOnHugePages (NODE_GQA_PREBUILD may name any) places less.
    placement = typeof binding.alignmentOffset !== 'function' ? null : {
      alignmentOffset: (b) => binding.alignmentOffset(b, STORAGE_ALIGNMENT),
      placeOnHugePages: typeof binding.placeOnHugePages === 'function' ? (b, bytes) => binding.placeOnHugePages(b, bytes) : undefined,
    };
  } catch {
    placement = null;  // no addon here: attention() will say why
  }
  return placement;
}

function allocate(dtype: DType, n: number): Float32Array | Uint16Array {
  const bytes = n * dtypeSize(dtype);
  const place = storagePlacement();
  let buffer: ArrayBuffer, offset = 0;
  if (bytes >= HUGE_PAGE_BYTES && place?.placeOnHugePages) {
    buffer = new ArrayBuffer(bytes + HUGE_PAGE_BYTES);
    offset = place.placeOnHugePages(buffer, bytes);
  } else {
    buffer = new ArrayBuffer(bytes + STORAGE_ALIGNMENT);
    if (place) offset = place.alignmentOffset(buffer);
  }
  return dtype === 'f32' ? new Float32Array(buffer, offset, n) : new Uint16Array(buffer, offset, n);
}

/** Float32Array for f32; Uint16Array of bit patterns for bf16 and f16, or a Float16Array for f16. */
export type TensorData = Float32Array | Uint16Array | Float16ArrayLike;

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** Whether `strides` are the contiguous (row-major) strides of `shape`. */
export function hasContiguousStrides(shape: readonly number[], strides: readonly number[]): boolean {
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (strides[i] !== s) return false;
    s *= shape[i];
  }
  return true;
}

/**
 * The runtime's Float16Array, or an object that behaves like one: named Float16Array, two bytes an element, its
 * elements inside an ArrayBuffer (a polyfill's instance, or one from another realm). Read at each call, since a
 * polyfill may install a global one after this module loads.
 */
export function isFloat16Array(data: unknown): data is Float16ArrayLike {
  const Runtime = (globalThis as { Float16Array?: abstract new (...args: never[]) => unknown }).Float16Array;
  if (Runtime !== undefined && data instanceof Runtime) return true;
  if (typeof data !== 'object' || data === null) return false;
  const d = data as Partial<Float16ArrayLike> & { BYTES_PER_ELEMENT?: unknown };
  const kind = Object.prototype.toString.call(d.buffer);
  return d.constructor?.name === 'Float16Array' && d.BYTES_PER_ELEMENT === 2 &&
    (kind === '[object ArrayBuffer]' || kind === '[object SharedArrayBuffer]') &&
    Number.isSafeInteger(d.byteOffset) && Number.isSafeInteger(d.length) && d.byteLength === (d.length as number) * 2 &&
    (d.byteOffset as number) + (d.byteLength as number) <= (d.buffer as ArrayBufferLike).byteLength;
}

/** True when `buffer` is detached (ArrayBuffer.prototype.detached is newer than Node 20's V8; only a detached buffer refuses a view). */
function isDetached(buffer: ArrayBufferLike): boolean {
  if (buffer.byteLength > 0) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/**
 * The memory of tensor data as a Float32Array or Uint16Array, as the native binding and bitwise copies take it: the
 * array itself, or for a Float16Array a Uint16Array of its bits over the same bytes (zero copy). The binding does not
 * take a Float16Array: a polyfill's is a Proxy, not a typed array, and Node-API 8, which the addon is built for, has
 * no float16 type. `name` names the argument in the BufferError for a detached buffer, worded as the binding words it.
 */
export function storageOf(data: TensorData, name: string): Float32Array | Uint16Array {
  if (data instanceof Float32Array || data instanceof Uint16Array) return data;
  if (isDetached(data.buffer)) throw new BufferError(`${name}: the ArrayBuffer is detached`);
  return new Uint16Array(data.buffer, data.byteOffset, data.length);
}

export class Tensor {
  readonly data: TensorData;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];

  constructor(data: TensorData, dtype: DType, shape: readonly number[], strides?: readonly number[]) {
    if (dtype !== 'f32' && dtype !== 'bf16' && dtype !== 'f16') {
      throw new DTypeError(`dtype: expected 'f32', 'bf16' or 'f16', received ${String(dtype)}`);
    }
    const ok = dtype === 'f32'
      ? data instanceof Float32Array
      : data instanceof Uint16Array || (dtype === 'f16' && isFloat16Array(data));
    if (!ok) {
      const expected = dtype === 'f32' ? 'a Float32Array' : dtype === 'f16' ? 'a Uint16Array or Float16Array' : 'a Uint16Array';
      throw new DTypeError(`data: dtype ${dtype} needs ${expected}, received ${describe(data)}`);
    }
    if (!Array.isArray(shape) || shape.some((n) => !Number.isSafeInteger(n) || n < 0)) {
      throw new ShapeError(`shape: expected non-negative integers, received ${JSON.stringify(shape)}`);
    }
    if (strides !== undefined) {
      if (!Array.isArray(strides) || strides.length !== shape.length ||
          strides.some((n) => !Number.isSafeInteger(n) || n < 0)) {
        throw new StrideError(`strides: expected ${shape.length} non-negative integers, received ${JSON.stringify(strides)}`);
      }
    }
    this.data = data;
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
  }

  static f32(data: Float32Array, shape: readonly number[], strides?: readonly number[]): Tensor {
    return new Tensor(data, 'f32', shape, strides);
  }
  static bf16(data: Uint16Array, shape: readonly number[], strides?: readonly number[]): Tensor {
    return new Tensor(data, 'bf16', shape, strides);
  }
  static f16(data: Uint16Array | Float16ArrayLike, shape: readonly number[], strides?: readonly number[]): Tensor {
    return new Tensor(data, 'f16', shape, strides);
  }

  /** A new contiguous tensor of zeros, its storage starting on a 64-byte boundary. */
  static zeros(dtype: DType, shape: readonly number[]): Tensor {
    return new Tensor(allocate(dtype, shape.reduce((a, b) => a * b, 1)), dtype, shape);
  }

  /**
   * A contiguous tensor of the given dtype holding these values (rounded to nearest even): `values` itself for f32,
   * else new storage starting on a 64-byte boundary.
   */
  static fromFloat32(values: Float32Array, dtype: DType, shape: readonly number[]): Tensor {
    if (dtype === 'f32') return new Tensor(values, dtype, shape);
    const converted = allocate(dtype, values.length) as Uint16Array;
    return new Tensor((dtype === 'bf16' ? bf16 : f16).fromFloat32(values, converted), dtype, shape);
  }

  /** Number of elements of the shape. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Element at a multi-index, as a number. */
  get(...index: number[]): number {
    let offset = 0;
    for (let i = 0; i < index.length; i++) offset += index[i] * this.strides[i];
    const raw = this.data[offset];
    // Only a Uint16Array holds bit patterns; a Float16Array holds the values.
    if (!(this.data instanceof Uint16Array)) return raw;
    return this.dtype === 'bf16' ? bf16.toFloat(raw) : f16.toFloat(raw);
  }

  /** The elements in row-major order of the shape, as a new Float32Array (strides followed). */
  toFloat32(): Float32Array {
    const out = new Float32Array(this.size);
    const shape = this.shape;
    const index = new Array<number>(shape.length).fill(0);
    for (let n = 0; n < out.length; n++) {
      out[n] = this.get(...index);
      for (let d = shape.length - 1; d >= 0; d--) {
        if (++index[d] < shape[d]) break;
        index[d] = 0;
      }
    }
    return out;
  }

  /** A view with two dimensions swapped (no copy), e.g. BHSD storage seen as BSHD. */
  transpose(a: number, b: number): Tensor {
    const shape = [...this.shape];
    const strides = [...this.strides];
    [shape[a], shape[b]] = [shape[b], shape[a]];
    [strides[a], strides[b]] = [strides[b], strides[a]];
    return new Tensor(this.data, this.dtype, shape, strides);
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
