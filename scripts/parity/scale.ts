// The size policy: GPU backends run the cases at full size; the CPU (whose float64 reference is naive, about
// 1 GFLOP/s) runs scaled-down versions that keep what each case is for: a length that is not a multiple of 128 keeps
// its remainder mod 128 (so 4097 stays one key past a tile and 1023 one short of one), the group size and the
// MQA/GQA character are kept while the head count shrinks, and decode (Sq <= 16) keeps its full KV length.
import { ParityCase } from './cases';

/** 'auto': full size on GPU backends, CPU_FACTOR for GPU-sized (`big`) cases on the CPU. A number >= 1 divides the
 * sizes of every case on every backend. */
export type ScaleSetting = 'auto' | 'full' | number;

export const CPU_FACTOR = 8;
const TILE = 128;

export function parseScale(s: string): ScaleSetting | undefined {
  if (s === 'auto' || s === 'full') return s;
  const n = Number(s);
  return Number.isFinite(n) && n >= 1 ? n : undefined;
}

/** The factor a case gets on a backend under a setting (1 is full size). */
export function scaleFactor(setting: ScaleSetting, backend: string, c: ParityCase): number {
  if (setting === 'full') return 1;
  if (setting === 'auto') return c.big && backend !== 'cuda' && backend !== 'rocm' ? CPU_FACTOR : 1;
  return setting;
}

/** A length divided by `factor`, keeping lengths up to two tiles as they are and the remainder mod 128. */
export function scaleLength(length: number, factor: number): number {
  if (factor <= 1 || length <= 2 * TILE) return length;
  const rem = length % TILE;
  const tiles = Math.floor(length / factor / TILE);
  return rem === 0 ? Math.max(2, tiles) * TILE : Math.max(1, tiles) * TILE + rem;
}

/** The case as run at this factor (the same object when nothing changes). */
export function scaleCase(c: ParityCase, factor: number): ParityCase {
  if (factor <= 1) return c;
  const group = c.Hq / c.Hkv;
  const Hkv = Math.min(c.Hkv, 2);
  const Hq = Number.isInteger(group) ? (group > 8 ? Math.min(c.Hq, 8) : group * Hkv) : c.Hq;
  const decode = c.Sq <= 16;
  const scaled: ParityCase = {
    ...c,
    B: Math.min(c.B, 2),
    Hq: Number.isInteger(group) ? Hq : c.Hq,
    Hkv: Number.isInteger(group) ? Hkv : c.Hkv,
    Sq: scaleLength(c.Sq, factor),
    Skv: decode ? c.Skv : scaleLength(c.Skv, factor),
  };
  if (c.window) {
    // Keep the window a similar fraction of the (shortened) key length, at least 8 keys.
    const shrink = (w: number) => (w < 0 ? w : Math.max(8, Math.round((w * scaled.Skv) / c.Skv)));
    scaled.window = [shrink(c.window[0]), shrink(c.window[1])];
  }
  const same = (['B', 'Hq', 'Hkv', 'Sq', 'Skv'] as const).every((k) => scaled[k] === c[k]) &&
    (!c.window || (scaled.window![0] === c.window[0] && scaled.window![1] === c.window[1]));
  return same ? c : scaled;
}
