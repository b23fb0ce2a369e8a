// The native binding's shape as the facade sees it. The binary itself is found by the loader (loader.ts).
import { loadBinding } from './loader';

export interface NativeTensor {
  data: ArrayBufferView;
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

export interface NativeBinding {
  attention(q: NativeTensor, k: NativeTensor, v: NativeTensor, out: NativeTensor, options?: NativeOptions): void;
  attentionAsync(q: NativeTensor, k: NativeTensor, v: NativeTensor, out: NativeTensor, options?: NativeOptions): Promise<void>;
  buildInfo(): NativeBuildInfo;
  /** Memory read bandwidth in GB/s: the best of `repeats` passes of `threads` threads summing a `bytes` buffer (benchmarks). */
  measureReadBandwidth(bytes: number, threads: number, repeats: number): number;
}

let binding: NativeBinding | undefined;

/** The native binding, loaded on first use. */
export function native(): NativeBinding {
  binding ??= loadBinding() as NativeBinding;
  return binding;
}
