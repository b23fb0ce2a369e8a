// The native binding's shape as the facade sees it. The binary itself is found by the loader (loader.ts).
import { loadBinding } from './loader';

export interface NativeTensor {
  /** A host typed array, or device memory from byteOffset on. */
  data: ArrayBufferView | NativeDeviceBuffer;
  byteOffset?: number;
  dtype: string;
  shape: readonly number[];
  strides?: readonly number[];
}

export interface NativeOptions {
  scale?: number;
  softcap?: number;
  causal?: boolean;
  alignment?: string;
  windowLeft?: number;
  windowRight?: number;
  headMap?: Int32Array;
  cuSeqlensQ?: Int32Array;
  cuSeqlensKv?: Int32Array;
  pageTable?: Int32Array;
  pagesPerSeq?: number;
  seqlensKv?: Int32Array;
  sinks?: Float32Array;
  lse?: Float32Array;
  backend?: string;
  threads?: number;
  fault?: string;
}

export interface NativeBuildInfo {
  napiVersion: number;
  cpuSimd: string;
  gpu: 'cuda' | 'rocm' | null;
  compiler: string;
}

/** One allocation of device memory (csrc/napi/device_buffer.h). */
export interface NativeDeviceBuffer {
  readonly kind: 'cpu' | 'cuda' | 'rocm';
  readonly device: number;
  readonly byteLength: number;
  readonly disposed: boolean;
  dispose(): void;
}

/** Host memory for staging device copies, as an ArrayBuffer (csrc/napi/pinned_buffer.h). */
export interface NativePinnedBuffer {
  readonly buffer: ArrayBuffer;
  readonly byteLength: number;
  readonly pinned: boolean;
  readonly external: boolean;
  readonly disposed: boolean;
  dispose(): void;
}

export interface NativeDeviceInfo {
  kind: 'cpu' | 'cuda' | 'rocm';
  index: number;
  name: string;
  arch: string;
  memory: number;
}

export interface NativeGpuStatus {
  kind: 'cuda' | 'rocm' | null;
  available: boolean;
  devices: number;
  reason: string;
}

export interface NativeBinding {
  attention(q: NativeTensor, k: NativeTensor, v: NativeTensor, out: NativeTensor, options?: NativeOptions): void;
  attentionAsync(q: NativeTensor, k: NativeTensor, v: NativeTensor, out: NativeTensor, options?: NativeOptions): Promise<void>;
  buildInfo(): NativeBuildInfo;
  /**
   * One pass over the array, `threads` threads of its own each summing a contiguous share (benchmarks: the streaming
   * read bandwidth): the time taken, the bytes read and their sum as little-endian 64-bit words modulo 2^64.
   */
  streamRead(array: ArrayBufferView, threads: number): { seconds: number; bytes: number; checksum: bigint };
  /**
   * Reads every whole 8-byte word of the arrays once, on `threads` threads of the CPU backend's pool (benchmarks):
   * the time taken, the bytes read and their sum as little-endian 64-bit words modulo 2^64.
   */
  timeRead(arrays: ArrayBufferView[], threads: number): { seconds: number; bytes: number; checksum: bigint };
  devices(): NativeDeviceInfo[];
  gpuStatus(): NativeGpuStatus;
  DeviceBuffer: new (kind: string, device: number, bytes: number) => NativeDeviceBuffer;
  PinnedBuffer: new (kind: string, device: number, bytes: number) => NativePinnedBuffer;
  /** Copies (dstByteOffset, srcByteOffset, bytes) triples between typed arrays and device buffers. */
  copy(dst: ArrayBufferView | NativeDeviceBuffer, src: ArrayBufferView | NativeDeviceBuffer, regions: Float64Array): void;
  copyAsync(dst: ArrayBufferView | NativeDeviceBuffer, src: ArrayBufferView | NativeDeviceBuffer, regions: Float64Array): Promise<void>;
  /** Bytes from the start of `buffer` to its first byte at a multiple of `alignment` (a power of two <= 4096). */
  alignmentOffset(buffer: ArrayBuffer, alignment: number): number;
  /** Bytes from the start of a new `buffer` to its first 2 MiB boundary, huge pages asked for under `bytes` from there. */
  placeOnHugePages(buffer: ArrayBuffer, bytes: number): number;
}

let binding: NativeBinding | undefined;

/** The native binding, loaded on first use. */
export function native(): NativeBinding {
  binding ??= loadBinding() as NativeBinding;
  return binding;
}
