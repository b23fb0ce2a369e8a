// K and V of [B, S, Hkv, D] rewritten, value for value, in the other layouts a KV cache takes: head-major
// ([B, Hkv, S, D], seen as BSHD through its strides) and pages of a pool read through a page table. Used by the
// benchmark (--layout) and by the tests that check that the layout never changes the bits.
import { PageTable, Tensor } from '../../lib';

export const LAYOUTS = ['bshd', 'bhsd', 'paged'] as const;
export type Layout = (typeof LAYOUTS)[number];

type Storage = Float32Array | Uint16Array;

// New storage of t's dtype, allocated as the package allocates (Tensor.zeros, as KVCache's pools are).
function like(t: Tensor, length: number): Storage {
  return Tensor.zeros(t.dtype, [length]).data as Storage;
}

/** The same values in a head-major buffer, viewed as [B, S, H, D]. */
export function headMajor(t: Tensor): Tensor {
  const [B, S, H, D] = t.shape;
  const src = t.data as Storage;
  const dst = like(t, src.length);
  for (let b = 0; b < B; b++)
    for (let s = 0; s < S; s++)
      for (let h = 0; h < H; h++) {
        const from = ((b * S + s) * H + h) * D;
        dst.set(src.subarray(from, from + D), ((b * H + h) * S + s) * D);
      }
  return new Tensor(dst, t.dtype, [B, H, S, D]).transpose(1, 2);
}

export interface PagedKV {
  k: Tensor;  // [numPages, pageSize, H, D]
  v: Tensor;
  pages: PageTable;
}

/**
 * The same K and V in pages of `pageSize` keys, each sequence's pages placed in the pool in the order `place` gives
 * (a permutation of the B * ceil(S / pageSize) pages: a pool that has served many sequences is not in order).
 */
export function paged(k: Tensor, v: Tensor, pageSize: number, place: (pages: number) => number[]): PagedKV {
  const [B, S, H, D] = k.shape;
  const perSeq = Math.ceil(S / pageSize), numPages = B * perSeq, pageElements = pageSize * H * D;
  const order = place(numPages);
  const pool = (t: Tensor) => {
    const src = t.data as Storage;
    const dst = like(t, numPages * pageElements);
    for (let b = 0; b < B; b++)
      for (let i = 0; i < perSeq; i++) {
        const from = (b * S + i * pageSize) * H * D, to = Math.min(from + pageElements, (b + 1) * S * H * D);
        dst.set(src.subarray(from, to), order[b * perSeq + i] * pageElements);
      }
    return new Tensor(dst, t.dtype, [numPages, pageSize, H, D]);
  };
  const pages = { table: Int32Array.from(order), perSeq, seqlensKv: new Int32Array(B).fill(S) };
  return { k: pool(k), v: pool(v), pages };
}

/** A permutation of [0, n) by Fisher-Yates, from `uniform` (values in [0, 1)). */
export function shuffled(n: number, uniform: () => number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
