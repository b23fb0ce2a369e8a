// attention() and attentionAsync(): validate in TypeScript (typed errors naming the argument), then call the
// native binding, which checks everything again before any backend runs. q, k, v and out are host Tensors or
// DeviceTensors, all in one place; with device inputs the output is allocated on the device and stays there.
import { DeviceTensor } from './device';
import { DType } from './dtype';
import { BufferError, DTypeError, HeadMapError, OffsetsError, OptionError, ShapeError, StrideError, UnsupportedError, fromNative } from './errors';
import { NativeOptions, NativeTensor, native } from './native';
import { Float16ArrayLike, Tensor, describe, hasContiguousStrides, isFloat16Array, storageOf } from './tensor';

export type Alignment = 'top-left' | 'bottom-right';
const BACKEND_NAMES = ['auto', 'reference', 'reference-f32', 'cpu', 'cuda', 'rocm'] as const;
/**
 * 'reference' is the float64 oracle; 'reference-f32' runs the same loops in f32 math (the parity check's lp_ref, the
 * error a correct low-precision implementation is allowed). 'cpu' is the fast CPU backend. 'auto' (the default) runs
 * where the tensors are: the device of DeviceTensors, else 'cpu'.
 */
export type BackendName = (typeof BACKEND_NAMES)[number];

/** A host Tensor or a DeviceTensor. */
export type AnyTensor = Tensor | DeviceTensor;

export interface AttentionOptions {
  /** Score scale; default 1/sqrt(D). */
  scale?: number;
  /** Causal mask. `true` uses `alignment`; a string sets the alignment too. */
  causal?: boolean | Alignment;
  /** 'top-left' (PyTorch is_causal) or 'bottom-right' (FlashAttention; right for decode over a cache). Default 'top-left'. */
  alignment?: Alignment;
  /** Sliding window [left, right] around the aligned diagonal; -1 is unbounded on that side. */
  window?: readonly [number, number];
  /** Logit softcap c > 0: s = c * tanh(s / c). */
  softcap?: number;
  /** Per-query-head sink logits (length Hq): join the softmax denominator, contribute no value. */
  sinks?: Float32Array;
  /** KV head of each query head (length Hq); any grouping. Default h / (Hq / Hkv). */
  headMap?: Int32Array | readonly number[];
  /** Variable-length batch: cumulative offsets (length B + 1) into packed q [totalQ, Hq, D] and k/v [totalKv, Hkv, D]. */
  cuSeqlensQ?: Int32Array;
  cuSeqlensKv?: Int32Array;
  /** Paged K/V (a KV cache). */
  pages?: PageTable;
  /** Write the output here (a Tensor or DeviceTensor of q's shape, or a typed array taken as contiguous; a Float16Array is f16). */
  out?: AnyTensor | Float32Array | Uint16Array | Float16ArrayLike;
  /** Output dtype when `out` is not given (default q's dtype) or is a Uint16Array (default q's 16-bit dtype). */
  outDtype?: DType;
  /** Also return the log-sum-exp (natural log, f32) [B, Hq, Sq], or [Hq, totalQ] for varlen. */
  returnLse?: boolean;
  /** Write the LSE here (implies returnLse). */
  lse?: Float32Array;
  /** Which backend runs the call. Default 'auto'. */
  backend?: BackendName;
  /** CPU threads; default every core the process may run on (its CPU affinity). */
  threads?: number;
  /** Test-only: a numerical fault the cpu backend injects (see the parity check). */
  fault?: string;
}

/** K/V read through pages: k and v are [numPages, pageSize, Hkv, D]; key j of sequence b is in page
 * table[b * perSeq + floor(j / pageSize)], row j % pageSize. KVCache builds this. */
export interface PageTable {
  table: Int32Array;
  perSeq: number;
  /** Keys of each sequence (length B). */
  seqlensKv: Int32Array;
}

export interface AttentionResult<T extends AnyTensor = Tensor> {
  out: T;
  lse: Tensor;
}

const SUPPORTED_HEAD_DIMS = 'multiples of 8 from 8 to 256, and 512';

// The checks of every call use plain loops rather than array methods with callbacks: between decode calls, which
// stream many MiB through the caches, each method's code and closure came back from memory. In alternate calls of
// one process (f32 decode from memory, B=1, 2 threads, 2-core VM), loops took 10-30 us off calls of 0.65-0.73 ms.
function isBackendName(x: unknown): x is BackendName {
  for (let i = 0; i < BACKEND_NAMES.length; i++) if (x === BACKEND_NAMES[i]) return true;
  return false;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function headDimSupported(d: number): boolean {
  return (d >= 8 && d <= 256 && d % 8 === 0) || d === 512;
}

function checkTensor(name: string, t: unknown, rank: number): asserts t is AnyTensor {
  if (!(t instanceof Tensor) && !(t instanceof DeviceTensor)) throw new ShapeError(`${name}: expected a Tensor or DeviceTensor, received ${describe(t)}`);
  // Elements reachable in the buffer: the typed array's, or the device allocation's from the tensor's byte offset.
  const length = t instanceof Tensor ? t.data.length : t.capacity;
  if (t instanceof DeviceTensor && t.disposed) throw new BufferError(`${name}: the device tensor is disposed`);
  if (t.shape.length !== rank) {
    throw new ShapeError(`${name}: expected rank ${rank}${rank === 3 ? ' (varlen [total, H, D])' : ' [B, S, H, D]'}, received shape [${t.shape.join(', ')}]`);
  }
  let last = 0;  // the highest element index the strides reach
  let empty = false;
  for (let i = 0; i < rank; i++) {
    if (t.shape[i] === 0) empty = true;
    last += (t.shape[i] - 1) * t.strides[i];
  }
  if (length === 0 && !empty) throw new BufferError(`${name}: the buffer is empty or its ArrayBuffer is detached`);
  if (empty) return;
  if (last >= length) {
    // A buffer that holds the elements contiguously has bad strides; otherwise it is too small.
    if (length >= t.size) {
      throw new StrideError(`${name}: strides [${t.strides.join(', ')}] reach element ${last} but the buffer holds ${length}`);
    }
    throw new BufferError(`${name}: shape [${t.shape.join(', ')}] needs ${last + 1} elements, the buffer holds ${length}`);
  }
}

function int32Array(name: string, value: unknown, Error: new (m: string) => Error): Int32Array {
  if (value instanceof Int32Array) return value;
  if (Array.isArray(value) && value.every((x) => Number.isInteger(x) && Math.abs(x) < 2 ** 31)) return Int32Array.from(value);
  throw new Error(`${name}: expected an Int32Array, received ${describe(value)}`);
}

function checkOffsets(name: string, cu: Int32Array, total: number): void {
  if (cu.length < 1) throw new OffsetsError(`${name}: expected at least one entry`);
  if (cu[0] < 0) throw new OffsetsError(`${name}[0] is negative`);
  for (let i = 1; i < cu.length; i++) {
    if (cu[i] < cu[i - 1]) throw new OffsetsError(`${name} is not monotonic at index ${i}`);
  }
  if (cu[cu.length - 1] > total) {
    throw new OffsetsError(`${name}[${cu.length - 1}] = ${cu[cu.length - 1]} exceeds the packed length ${total}`);
  }
}

function checkPages(pages: PageTable, batch: number, numPages: number, pageSize: number): Int32Array {
  const { table, perSeq, seqlensKv } = pages;
  if (!(table instanceof Int32Array) || !(seqlensKv instanceof Int32Array)) throw new OffsetsError('pages: table and seqlensKv must be Int32Arrays');
  if (!Number.isSafeInteger(perSeq) || perSeq < 0 || table.length !== batch * perSeq) {
    throw new OffsetsError(`pages: expected a table of ${batch} x perSeq entries, received ${table.length} with perSeq ${String(perSeq)}`);
  }
  if (seqlensKv.length !== batch) throw new OffsetsError(`pages.seqlensKv: expected length ${batch}, received ${seqlensKv.length}`);
  for (let b = 0; b < batch; b++) {
    if (seqlensKv[b] < 0 || seqlensKv[b] > perSeq * pageSize) throw new OffsetsError(`pages.seqlensKv[${b}] = ${seqlensKv[b]} is outside [0, ${perSeq * pageSize}]`);
    for (let i = 0; i < Math.ceil(seqlensKv[b] / pageSize); i++) {
      const page = table[b * perSeq + i];
      if (page < 0 || page >= numPages) throw new OffsetsError(`pages.table[${b}][${i}] = ${page} is outside [0, ${numPages})`);
    }
  }
  return table;
}

function integerOption(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 2 ** 31 - 1) {
    throw new OptionError(`${name}: expected an integer >= ${min}, received ${String(value)}`);
  }
  return value;
}

interface PreparedCall {
  args: [NativeTensor, NativeTensor, NativeTensor, NativeTensor, NativeOptions];
  out: AnyTensor;
  lse?: Tensor;
}

/** 'the host' or the device a tensor is on. */
function placeOf(t: AnyTensor): string {
  return t instanceof DeviceTensor ? `${t.device}` : 'the host';
}

function checkPlace(name: string, t: AnyTensor, q: AnyTensor): void {
  if (placeOf(t) !== placeOf(q)) {
    throw new UnsupportedError(`${name}: on ${placeOf(t)} but q is on ${placeOf(q)} (q, k, v and out must be in one place)`);
  }
}

/** Validates the arguments and builds the native call. Exported for the device and cache layers. */
export function prepareAttention(q: AnyTensor, k: AnyTensor, v: AnyTensor, options: AttentionOptions = {}): PreparedCall {
  if (options === null || typeof options !== 'object') throw new OptionError(`options: expected an object, received ${describe(options)}`);
  const varlen = options.cuSeqlensQ !== undefined || options.cuSeqlensKv !== undefined;
  const nativeOptions: NativeOptions = {};
  const rank = varlen ? 3 : 4;
  checkTensor('q', q, rank);
  checkTensor('k', k, rank);
  checkTensor('v', v, rank);
  if (k.dtype !== q.dtype || v.dtype !== q.dtype) {
    throw new DTypeError(`q, k and v must share one dtype, received ${q.dtype}, ${k.dtype}, ${v.dtype}`);
  }
  checkPlace('k', k, q);
  checkPlace('v', v, q);
  const o = varlen ? -1 : 0;
  const [hq, d] = [q.shape[2 + o], q.shape[3 + o]];
  const hkv = k.shape[2 + o];
  if (!sameShape(v.shape, k.shape)) throw new ShapeError(`v: shape [${v.shape.join(', ')}] differs from k's [${k.shape.join(', ')}]`);
  if (options.pages !== undefined) {
    if (varlen) throw new OffsetsError('pages: not supported with varlen q');
    nativeOptions.pageTable = checkPages(options.pages, q.shape[0], k.shape[0], k.shape[1]);
    nativeOptions.pagesPerSeq = options.pages.perSeq;
    nativeOptions.seqlensKv = options.pages.seqlensKv;
  } else if (!varlen && k.shape[0] !== q.shape[0]) throw new ShapeError(`k: batch ${k.shape[0]} differs from q's ${q.shape[0]}`);
  if (k.shape[3 + o] !== d) throw new ShapeError(`k: head dim ${k.shape[3 + o]} differs from q's ${d}`);
  if (hq < 1 || hkv < 1) throw new ShapeError(`q/k: head counts must be at least 1, received ${hq} and ${hkv}`);
  if (!headDimSupported(d)) throw new UnsupportedError(`q: head dim ${d} is not supported (${SUPPORTED_HEAD_DIMS})`);

  if (varlen) {
    if (options.cuSeqlensQ === undefined || options.cuSeqlensKv === undefined) {
      throw new OffsetsError('cuSeqlensQ and cuSeqlensKv must be given together');
    }
    const cuQ = int32Array('cuSeqlensQ', options.cuSeqlensQ, OffsetsError);
    const cuKv = int32Array('cuSeqlensKv', options.cuSeqlensKv, OffsetsError);
    checkOffsets('cuSeqlensQ', cuQ, q.shape[0]);
    checkOffsets('cuSeqlensKv', cuKv, k.shape[0]);
    if (cuKv.length !== cuQ.length) throw new OffsetsError(`cuSeqlensKv: expected length ${cuQ.length}, received ${cuKv.length}`);
    nativeOptions.cuSeqlensQ = cuQ;
    nativeOptions.cuSeqlensKv = cuKv;
  }

  if (options.headMap !== undefined) {
    const map = int32Array('headMap', options.headMap, HeadMapError);
    if (map.length !== hq) throw new HeadMapError(`headMap: expected length ${hq} (heads of q), received ${map.length}`);
    for (let h = 0; h < map.length; h++) {
      if (map[h] < 0 || map[h] >= hkv) throw new HeadMapError(`headMap[${h}] = ${map[h]} is outside [0, ${hkv})`);
    }
    nativeOptions.headMap = map;
  } else if (hq % hkv !== 0) {
    throw new HeadMapError(`q has ${hq} heads, not a multiple of k's ${hkv}: pass a headMap to choose the grouping`);
  }

  if (options.scale !== undefined) {
    if (typeof options.scale !== 'number' || !Number.isFinite(options.scale)) throw new OptionError(`scale: expected a finite number, received ${String(options.scale)}`);
    nativeOptions.scale = options.scale;
  }
  if (options.softcap !== undefined) {
    if (typeof options.softcap !== 'number' || !(options.softcap >= 0) || !Number.isFinite(options.softcap)) {
      throw new OptionError(`softcap: expected a finite number >= 0, received ${String(options.softcap)}`);
    }
    nativeOptions.softcap = options.softcap;
  }
  const causal = options.causal ?? false;
  if (typeof causal !== 'boolean' && causal !== 'top-left' && causal !== 'bottom-right') {
    throw new OptionError(`causal: expected a boolean, 'top-left' or 'bottom-right', received ${String(causal)}`);
  }
  const alignment = typeof causal === 'string' ? causal : options.alignment ?? 'top-left';
  if (alignment !== 'top-left' && alignment !== 'bottom-right') {
    throw new OptionError(`alignment: expected 'top-left' or 'bottom-right', received ${String(alignment)}`);
  }
  if (typeof causal === 'string' && options.alignment !== undefined && options.alignment !== causal) {
    throw new OptionError(`causal: '${causal}' contradicts alignment '${options.alignment}'`);
  }
  nativeOptions.causal = causal !== false;
  nativeOptions.alignment = alignment;
  if (options.window !== undefined) {
    if (!Array.isArray(options.window) || options.window.length !== 2) throw new OptionError('window: expected [left, right]');
    nativeOptions.windowLeft = integerOption('window[0]', options.window[0], -1);
    nativeOptions.windowRight = integerOption('window[1]', options.window[1], -1);
  }
  if (options.sinks !== undefined) {
    if (!(options.sinks instanceof Float32Array)) throw new OptionError(`sinks: expected a Float32Array, received ${describe(options.sinks)}`);
    if (options.sinks.length !== hq) throw new OptionError(`sinks: expected length ${hq}, received ${options.sinks.length}`);
    if (options.sinks.some((x) => Number.isNaN(x) || x === Infinity)) throw new OptionError('sinks: entries must be finite or -Infinity');
    nativeOptions.sinks = options.sinks;
  }
  if (options.threads !== undefined) nativeOptions.threads = integerOption('threads', options.threads, 0);
  const backend = options.backend ?? 'auto';
  if (!isBackendName(backend)) {
    throw new OptionError(`backend: expected 'auto', 'reference', 'reference-f32', 'cpu', 'cuda' or 'rocm', received ${String(backend)}`);
  }
  nativeOptions.backend = backend === 'auto' ? (q instanceof DeviceTensor ? q.device.kind : 'cpu') : backend;
  if (options.fault !== undefined) nativeOptions.fault = options.fault;

  const lse = lseTensor(q, hq, varlen, options);
  // Last, so that no check fails after a device output was allocated.
  const out = outputTensor(q, options);
  if (lse) nativeOptions.lse = lse.data as Float32Array;
  return { args: [toNative(q, 'q'), toNative(k, 'k'), toNative(v, 'v'), toNative(out, 'out'), nativeOptions], out, lse };
}

function outputTensor(q: AnyTensor, options: AttentionOptions): AnyTensor {
  const { out, outDtype } = options;
  if (outDtype !== undefined && outDtype !== 'f32' && outDtype !== 'bf16' && outDtype !== 'f16') {
    throw new DTypeError(`outDtype: expected 'f32', 'bf16' or 'f16', received ${String(outDtype)}`);
  }
  let t: AnyTensor;
  if (out === undefined) {
    t = q instanceof DeviceTensor ? q.device.empty(outDtype ?? q.dtype, q.shape) : Tensor.zeros(outDtype ?? q.dtype, q.shape);
  } else if (out instanceof Tensor || out instanceof DeviceTensor) {
    if (outDtype !== undefined && outDtype !== out.dtype) throw new DTypeError(`out: dtype ${out.dtype} differs from outDtype ${outDtype}`);
    t = out;
  } else if (out instanceof Float32Array) {
    t = new Tensor(out, 'f32', q.shape);
  } else if (out instanceof Uint16Array) {
    const dtype = outDtype ?? (q.dtype === 'f32' ? undefined : q.dtype);
    if (dtype === undefined || dtype === 'f32') throw new DTypeError('out: a Uint16Array output needs outDtype \'bf16\' or \'f16\'');
    t = new Tensor(out, dtype, q.shape);
  } else if (isFloat16Array(out)) {
    if (outDtype !== undefined && outDtype !== 'f16') throw new DTypeError(`out: a Float16Array output is f16, received outDtype ${outDtype}`);
    t = new Tensor(out, 'f16', q.shape);
  } else {
    throw new DTypeError(`out: expected a Tensor, Float32Array, Uint16Array or Float16Array, received ${describe(out)}`);
  }
  if (!sameShape(t.shape, q.shape)) {
    throw new ShapeError(`out: shape [${t.shape.join(', ')}] differs from q's [${q.shape.join(', ')}]`);
  }
  checkTensor('out', t, q.shape.length);
  checkPlace('out', t, q);
  return t;
}

function lseTensor(q: AnyTensor, hq: number, varlen: boolean, options: AttentionOptions): Tensor | undefined {
  if (!options.returnLse && options.lse === undefined) return undefined;
  const shape = varlen ? [hq, q.shape[0]] : [q.shape[0], hq, q.shape[1]];
  const n = shape.reduce((a, b) => a * b, 1);
  if (options.lse === undefined) return new Tensor(new Float32Array(n), 'f32', shape);
  if (!(options.lse instanceof Float32Array)) throw new OptionError(`lse: expected a Float32Array, received ${describe(options.lse)}`);
  if (options.lse.length < n) throw new BufferError(`lse: needs ${n} floats, received ${options.lse.length}`);
  return new Tensor(options.lse, 'f32', shape);
}

/**
 * The tensor as the binding takes it; `name` names the argument in errors raised here. Contiguous strides are left
 * out, as the binding's default: reading them cost a call about 1 µs.
 */
export function toNative(t: AnyTensor, name = 'tensor'): NativeTensor {
  const strides = hasContiguousStrides(t.shape, t.strides) ? undefined : t.strides;
  return t instanceof DeviceTensor
    ? { data: t.buffer, byteOffset: t.byteOffset, dtype: t.dtype, shape: t.shape, strides }
    : { data: storageOf(t.data, name), dtype: t.dtype, shape: t.shape, strides };
}

function result(call: PreparedCall, options: AttentionOptions): AnyTensor | AttentionResult<AnyTensor> {
  return options.returnLse || options.lse !== undefined ? { out: call.out, lse: call.lse as Tensor } : call.out;
}

/** The native error as its typed class; a device output allocated for a failed call is freed at once. */
function failed(call: PreparedCall, options: AttentionOptions, err: unknown): unknown {
  if (options.out === undefined && call.out instanceof DeviceTensor) call.out.dispose();
  return fromNative(err);
}

/** Grouped-query attention, synchronously on the calling thread. Returns the output (and LSE when asked). */
export function attention<T extends AnyTensor>(q: T, k: T, v: T, options: AttentionOptions & ({ returnLse: true } | { lse: Float32Array })): AttentionResult<T>;
export function attention<T extends AnyTensor>(q: T, k: T, v: T, options?: AttentionOptions): T;
export function attention(q: AnyTensor, k: AnyTensor, v: AnyTensor, options: AttentionOptions = {}): AnyTensor | AttentionResult<AnyTensor> {
  const call = prepareAttention(q, k, v, options);
  try {
    native().attention(...call.args);
  } catch (err) {
    throw failed(call, options, err);
  }
  return result(call, options);
}

/** Grouped-query attention off the main thread. The buffers are held alive until the Promise settles. */
export function attentionAsync<T extends AnyTensor>(q: T, k: T, v: T, options: AttentionOptions & ({ returnLse: true } | { lse: Float32Array })): Promise<AttentionResult<T>>;
export function attentionAsync<T extends AnyTensor>(q: T, k: T, v: T, options?: AttentionOptions): Promise<T>;
export async function attentionAsync(q: AnyTensor, k: AnyTensor, v: AnyTensor, options: AttentionOptions = {}): Promise<AnyTensor | AttentionResult<AnyTensor>> {
  const call = prepareAttention(q, k, v, options);
  try {
    const a = call.args;
    await native().attentionAsync(a[0], a[1], a[2], a[3], a[4]);
  } catch (err) {
    throw failed(call, options, err);
  }
  return result(call, options);
}
