// Error figures between an output (or LSE) and the golden: max and mean absolute error over positions where the
// golden is finite, and the NaN/Inf policy (a non-finite value the golden lacks, or a golden -inf LSE / non-finite
// value the output does not reproduce, is a mismatch). Also the bitwise comparison for determinism.
import { DType, Tensor, bf16, f16 } from '../../lib';

let bf16Table: Float32Array | undefined;
let f16Table: Float32Array | undefined;

function table(dtype: 'bf16' | 'f16'): Float32Array {
  if (dtype === 'bf16') return (bf16Table ??= bf16.toFloat32(Uint16Array.from({ length: 65536 }, (_, i) => i)));
  return (f16Table ??= f16.toFloat32(Uint16Array.from({ length: 65536 }, (_, i) => i)));
}

/** The values of a contiguous tensor as a Float32Array (bf16/f16 decoded exactly). */
export function values(t: Tensor): Float32Array {
  const n = t.size;
  if (t.dtype === 'f32') return (t.data as Float32Array).subarray(0, n);
  const lut = table(t.dtype as 'bf16' | 'f16');
  const src = t.data as Uint16Array;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lut[src[i]];
  return out;
}

export interface ErrorStats {
  /** Largest |x - golden| over positions where both are finite. */
  maxErr: number;
  /** Mean |x - golden| over those positions. */
  meanErr: number;
  /** Flat index of the largest error (-1 if none). */
  worstIndex: number;
  /** Positions where x is NaN/Inf but the golden is finite, or the golden is non-finite and x differs. */
  nonFinite: number;
  /** Positions compared. */
  count: number;
}

// No global lookups in the loops below (Number.isFinite, Math.abs): inside a vm context (jest) each costs ~50x.
// x - x === 0 exactly when x is finite.
export function errorStats(x: Float32Array, golden: Float32Array): ErrorStats {
  let max = 0, sum = 0, worst = -1, bad = 0, count = 0;
  for (let i = 0; i < golden.length; i++) {
    const g = golden[i], y = x[i];
    if (g - g !== 0) {
      const sameNonFinite = g === y || (g !== g && y !== y);  // the same infinity, or NaN for NaN
      if (!sameNonFinite) bad++;
      continue;
    }
    if (y - y !== 0) { bad++; continue; }
    const e = y > g ? y - g : g - y;
    sum += e;
    count++;
    if (e > max) { max = e; worst = i; }
  }
  return { maxErr: max, meanErr: count ? sum / count : 0, worstIndex: worst, nonFinite: bad, count };
}

/** Whether two tensors hold the same bits (NaN payloads included). */
export function sameBits(a: Tensor, b: Tensor): boolean {
  const x = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const y = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * The exact-ones invariant for V all ones: every output element of a row whose golden LSE is finite (the row has an
 * allowed key) must be exactly 1. `lse` is [B, Hq, Sq]; out is [B, Sq, Hq, D]. Returns the number of violations.
 */
export function onesViolations(out: Float32Array, goldenLse: Float32Array, B: number, Sq: number, Hq: number, D: number): number {
  let bad = 0;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      for (let i = 0; i < Sq; i++) {
        const l = goldenLse[(b * Hq + h) * Sq + i];
        if (l - l !== 0) continue;  // not finite: the row has no allowed key
        const row = ((b * Sq + i) * Hq + h) * D;
        for (let d = 0; d < D; d++) if (out[row + d] !== 1) bad++;
      }
    }
  }
  return bad;
}

/** [b, s, h, d] of a flat BSHD index, for reports. */
export function bshdIndex(i: number, Sq: number, Hq: number, D: number): [number, number, number, number] {
  const d = i % D, h = Math.floor(i / D) % Hq, s = Math.floor(i / (D * Hq)) % Sq, b = Math.floor(i / (D * Hq * Sq));
  return [b, s, h, d];
}

/** [b, h, s] of a flat LSE index. */
export function bhsIndex(i: number, Hq: number, Sq: number): [number, number, number] {
  return [Math.floor(i / (Hq * Sq)), Math.floor(i / Sq) % Hq, i % Sq];
}

export function isHalf(dtype: DType): boolean {
  return dtype !== 'f32';
}
