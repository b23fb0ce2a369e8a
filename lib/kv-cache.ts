// A paged KV cache for decode: fixed-size pages in one pool per K and V, a page list per sequence, append of new
// keys/values for a batch of sequences, and attention over a batch of sequences of different lengths. The
// attention call reads the pages in place through a page table (no gather copy). Given a `device`, the pools are
// DeviceTensors: appends upload the new rows with one batched copy per pool, and attention runs on that device.
import { AnyTensor, AttentionOptions, PageTable, attention, attentionAsync } from './attention';
import { Device, DeviceTensor, copyRegions, copyRegionsAsync } from './device';
import { DType, dtypeSize } from './dtype';
import { BufferError, OptionError, OutOfMemoryError, ShapeError } from './errors';
import { Tensor, storageOf } from './tensor';

export interface KVCacheOptions {
  /** KV heads. */
  heads: number;
  headDim: number;
  dtype: DType;
  /** Tokens per page (default 16). */
  pageSize?: number;
  /** Pages in the pool; the cache holds numPages * pageSize tokens over all sequences. */
  numPages: number;
  /** Keep the pools in this device's memory (default: host typed arrays). */
  device?: Device;
}

/** New tokens s..s+n of batch entry b, going to rows row..row+n of one page. */
interface Run {
  b: number;
  s: number;
  n: number;
  page: number;
  row: number;
}

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new OptionError(`${name}: expected a positive integer, received ${String(value)}`);
  }
  return value;
}

/** Options of an attention call over the cache: alignment is bottom-right, pages and lengths come from the cache. */
export type KVCacheAttentionOptions = Omit<AttentionOptions, 'pages' | 'cuSeqlensQ' | 'cuSeqlensKv' | 'alignment' | 'returnLse' | 'lse'>;

export class KVCache {
  /** Key and value pools, [numPages, pageSize, heads, headDim]. */
  readonly k: Tensor | DeviceTensor;
  readonly v: Tensor | DeviceTensor;
  readonly pageSize: number;
  private readonly freePages: number[];
  private readonly sequences = new Map<number, { pages: number[]; length: number }>();
  private nextId = 0;

  constructor(options: KVCacheOptions) {
    const heads = positiveInteger('heads', options.heads);
    const headDim = positiveInteger('headDim', options.headDim);
    const numPages = positiveInteger('numPages', options.numPages);
    this.pageSize = positiveInteger('pageSize', options.pageSize ?? 16);
    const shape = [numPages, this.pageSize, heads, headDim];
    if (options.device === undefined) {
      this.k = Tensor.zeros(options.dtype, shape);
      this.v = Tensor.zeros(options.dtype, shape);
    } else {
      if (!(options.device instanceof Device)) throw new OptionError('device: expected a Device from devices()');
      this.k = options.device.empty(options.dtype, shape);
      try {
        this.v = options.device.empty(options.dtype, shape);
      } catch (err) {
        this.k.dispose();
        throw err;
      }
    }
    this.freePages = Array.from({ length: numPages }, (_, i) => numPages - 1 - i);
  }

  /** Starts an empty sequence and returns its id. */
  addSequence(): number {
    this.sequences.set(this.nextId, { pages: [], length: 0 });
    return this.nextId++;
  }

  /** Ends a sequence and returns its pages to the pool. */
  removeSequence(id: number): void {
    const seq = this.sequence(id);
    this.freePages.push(...seq.pages.reverse());
    this.sequences.delete(id);
  }

  /** Tokens held for a sequence. */
  length(id: number): number {
    return this.sequence(id).length;
  }

  /** Pages not in use. */
  get freePageCount(): number {
    return this.freePages.length;
  }

  /**
   * Appends keys and values [B, S, heads, headDim] to sequences ids[0..B). With `lengths`, sequence b takes only
   * its first lengths[b] tokens (ragged appends).
   */
  append(ids: readonly number[], k: Tensor, v: Tensor, lengths?: readonly number[]): void {
    const { runs, rows } = this.placeTokens(ids, k, v, lengths);
    for (const [src, pool] of [[rows.k, this.k], [rows.v, this.v]] as const) {
      const upload = writeRuns(src, pool, runs);
      if (upload) copyRegions(...upload);
    }
  }

  /**
   * append() with the uploads to a device pool off the event loop. The new tokens count from the call on: settle
   * the Promise before attending over them.
   */
  async appendAsync(ids: readonly number[], k: Tensor, v: Tensor, lengths?: readonly number[]): Promise<void> {
    const { runs, rows } = this.placeTokens(ids, k, v, lengths);
    const uploads = [writeRuns(rows.k, this.k, runs), writeRuns(rows.v, this.v, runs)];
    await Promise.all(uploads.map((upload) => upload && copyRegionsAsync(...upload)));
  }

  // Checks an append, gives its tokens pages (updating the sequences) and returns where they go, with k and v as
  // tensors over Float32Array or Uint16Array views of their memory (a Float16Array's bits, copied bit for bit).
  private placeTokens(ids: readonly number[], k: Tensor, v: Tensor, lengths?: readonly number[]): { runs: Run[]; rows: { k: Tensor; v: Tensor } } {
    const [, , heads, headDim] = this.k.shape;
    for (const [name, t] of [['k', k], ['v', v]] as const) {
      if (t.dtype !== this.k.dtype) throw new ShapeError(`${name}: dtype ${t.dtype} differs from the cache's ${this.k.dtype}`);
      if (t.shape.length !== 4 || t.shape[0] !== ids.length || t.shape[2] !== heads || t.shape[3] !== headDim) {
        throw new ShapeError(`${name}: expected [${ids.length}, S, ${heads}, ${headDim}], received [${t.shape.join(', ')}]`);
      }
      if (t.size > 0 && t.data.length === 0) throw new BufferError(`${name}: the buffer is empty or its ArrayBuffer is detached`);
    }
    const rows = {
      k: new Tensor(storageOf(k.data, 'k'), k.dtype, k.shape, k.strides),
      v: new Tensor(storageOf(v.data, 'v'), v.dtype, v.shape, v.strides),
    };
    if (v.shape[1] !== k.shape[1]) throw new ShapeError(`v: ${v.shape[1]} tokens, k has ${k.shape[1]}`);
    if (lengths !== undefined && (lengths.length !== ids.length || lengths.some((n) => !Number.isInteger(n) || n < 0 || n > k.shape[1]))) {
      throw new ShapeError(`lengths: expected ${ids.length} integers in [0, ${k.shape[1]}]`);
    }
    const counts = ids.map((_, b) => lengths?.[b] ?? k.shape[1]);
    const seqs = ids.map((id) => this.sequence(id));
    const pagesNeeded = seqs.reduce((sum, s, b) => sum + Math.ceil((s.length + counts[b]) / this.pageSize) - s.pages.length, 0);
    if (pagesNeeded > this.freePages.length) {
      throw new OutOfMemoryError(`KV cache: ${pagesNeeded} more pages needed, ${this.freePages.length} free`);
    }
    const runs: Run[] = [];
    seqs.forEach((seq, b) => {
      for (let s = 0; s < counts[b];) {
        if (seq.length % this.pageSize === 0) seq.pages.push(this.freePages.pop() as number);
        const row = seq.length % this.pageSize;
        const n = Math.min(counts[b] - s, this.pageSize - row);
        runs.push({ b, s, n, page: seq.pages[seq.pages.length - 1], row });
        s += n;
        seq.length += n;
      }
    });
    return { runs, rows };
  }

  /**
   * Attention of q [B, Sq, Hq, headDim] over sequences ids[0..B), bottom-right aligned (decode, chunked prefill).
   * With the pools on a device, q is a DeviceTensor on that device and so is the result.
   */
  attention<T extends AnyTensor>(ids: readonly number[], q: T, options: KVCacheAttentionOptions = {}): T {
    return attention<AnyTensor>(q, this.k, this.v, { ...options, pages: this.pageTable(ids), alignment: 'bottom-right' }) as T;
  }

  attentionAsync<T extends AnyTensor>(ids: readonly number[], q: T, options: KVCacheAttentionOptions = {}): Promise<T> {
    return attentionAsync<AnyTensor>(q, this.k, this.v, { ...options, pages: this.pageTable(ids), alignment: 'bottom-right' }) as Promise<T>;
  }

  /** Frees device pools now (idempotent; host pools are left to the garbage collector). */
  dispose(): void {
    if (this.k instanceof DeviceTensor) this.k.dispose();
    if (this.v instanceof DeviceTensor) this.v.dispose();
  }

  /** The page table of a batch of sequences, as attention's `pages` option takes it. */
  pageTable(ids: readonly number[]): PageTable {
    const seqs = ids.map((id) => this.sequence(id));
    const perSeq = Math.max(1, ...seqs.map((s) => s.pages.length));
    const table = new Int32Array(ids.length * perSeq);
    seqs.forEach((s, b) => table.set(s.pages, b * perSeq));
    return { table, perSeq, seqlensKv: Int32Array.from(seqs, (s) => s.length) };
  }

  private sequence(id: number) {
    const seq = this.sequences.get(id);
    if (!seq) throw new OptionError(`sequence ${id}: not in this cache`);
    return seq;
  }
}

/** A batched upload: device buffer, host staging array, (dst, src, bytes) regions. */
type StagedUpload = Parameters<typeof copyRegions>;

// Writes the runs' tokens of src [B, S, heads, headDim] into their pages of a contiguous host pool; for a device
// pool, stages them in run order and returns the one batched copy (one region per run) that uploads them.
function writeRuns(src: Tensor, pool: Tensor | DeviceTensor, runs: readonly Run[]): StagedUpload | undefined {
  const [, pageSize, heads, headDim] = pool.shape;
  const rowElements = heads * headDim;
  if (pool instanceof Tensor) {
    const dst = storageOf(pool.data, 'pool');
    for (const r of runs) {
      for (let i = 0; i < r.n; i++) copyRow(src, r.b, r.s + i, dst, (r.page * pageSize + r.row + i) * rowElements);
    }
    return undefined;
  }
  const rowBytes = rowElements * dtypeSize(pool.dtype);
  const tokens = runs.reduce((sum, r) => sum + r.n, 0);
  const staging = pool.dtype === 'f32' ? new Float32Array(tokens * rowElements) : new Uint16Array(tokens * rowElements);
  const regions = new Float64Array(runs.length * 3);
  let staged = 0;
  runs.forEach((r, i) => {
    for (let t = 0; t < r.n; t++) copyRow(src, r.b, r.s + t, staging, (staged + t) * rowElements);
    regions.set([pool.byteOffset + (r.page * pageSize + r.row) * rowBytes, staged * rowBytes, r.n * rowBytes], i * 3);
    staged += r.n;
  });
  return [pool.buffer, staging, regions];
}

// Copies the heads x headDim values of token (b, s) of src to dst from element `at` on.
function copyRow(src: Tensor, b: number, s: number, dst: Float32Array | Uint16Array, at: number): void {
  const [, , heads, headDim] = src.shape;
  for (let h = 0; h < heads; h++) {
    const from = b * src.strides[0] + s * src.strides[1] + h * src.strides[2];
    if (src.strides[3] === 1) {
      dst.set(src.data.subarray(from, from + headDim), at + h * headDim);
    } else {
      for (let d = 0; d < headDim; d++) dst[at + h * headDim + d] = src.data[from + d * src.strides[3]];
    }
  }
}
