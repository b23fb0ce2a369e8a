// The tolerance method (DESIGN.md, after PyTorch's SDPA tests). golden = the float64 reference on the (low-precision)
// inputs; lp_ref = the same reference in f32 math with its output rounded to the dtype: the error a correct
// low-precision implementation makes. A backend passes a case when
//   - it has no NaN/Inf the golden lacks (and reproduces the golden's -inf LSE of rows with no allowed key),
//   - max |out - golden|  <= max(floor[dtype], fudge[dtype] * max |lp_ref - golden|),
//   - mean |out - golden| <= max(meanFloor[dtype], MEAN_FACTOR * mean |lp_ref - golden|)   (rounding bias),
//   - the same two tests hold for the LSE (f32) against lp_ref's LSE error,
//   - with V all ones, every row with an allowed key is exactly 1,
//   - two runs on the same inputs give identical bits (output and LSE).
import { DType } from '../../lib';
import { ErrorStats } from './metrics';

export interface Bounds {
  maxTol: number;
  meanTol: number;
}

/** Absolute floors: PyTorch's default atol per dtype (torch.testing), so a tiny lp_ref error is not a zero budget. */
export const OUT_FLOOR: Record<DType, number> = { f32: 1e-5, bf16: 1e-3, f16: 1e-3 };
/** Fudge factors on lp_ref's max error: a rounding flip costs up to 2x lp_ref for 16-bit outputs; f32 results are
 * pure summation-order noise, whose ratio between two correct orders varies more. */
export const OUT_FUDGE: Record<DType, number> = { f32: 4, bf16: 3, f16: 3 };
/** Mean-error floors for when lp_ref's mean error is 0 or near it (f32 output, V all ones). */
export const OUT_MEAN_FLOOR: Record<DType, number> = { f32: 1e-6, bf16: 1e-4, f16: 2e-5 };
/** The mean error may be at most this times lp_ref's: a biased rounding (e.g. toward zero) doubles it. */
export const MEAN_FACTOR = 2;

/** The LSE is f32 for every dtype; its error is lp_ref's f32 arithmetic on scores of the case's magnitude. */
export const LSE_FLOOR = 1e-4;
export const LSE_FUDGE = 4;
export const LSE_MEAN_FLOOR = 1e-5;

export function outBounds(dtype: DType, lpRef: ErrorStats): Bounds {
  return {
    maxTol: Math.max(OUT_FLOOR[dtype], OUT_FUDGE[dtype] * lpRef.maxErr),
    meanTol: Math.max(OUT_MEAN_FLOOR[dtype], MEAN_FACTOR * lpRef.meanErr),
  };
}

export function lseBounds(lpRef: ErrorStats): Bounds {
  return {
    maxTol: Math.max(LSE_FLOOR, LSE_FUDGE * lpRef.maxErr),
    meanTol: Math.max(LSE_MEAN_FLOOR, MEAN_FACTOR * lpRef.meanErr),
  };
}

/** The policy as recorded in the JSON report. */
export function policy() {
  return {
    method: 'max <= max(floor, fudge * lp_ref max); mean <= max(meanFloor, meanFactor * lp_ref mean); no new NaN/Inf; V=1 gives 1; bitwise deterministic',
    out: { floor: OUT_FLOOR, fudge: OUT_FUDGE, meanFloor: OUT_MEAN_FLOOR, meanFactor: MEAN_FACTOR },
    lse: { floor: LSE_FLOOR, fudge: LSE_FUDGE, meanFloor: LSE_MEAN_FLOOR, meanFactor: MEAN_FACTOR },
  };
}

/** Reasons a quantity fails its bounds (empty when it passes). */
export function check(what: string, stats: ErrorStats, bounds: Bounds): string[] {
  const reasons: string[] = [];
  if (stats.nonFinite > 0) reasons.push(`${what}: ${stats.nonFinite} NaN/Inf not in the golden`);
  if (!(stats.maxErr <= bounds.maxTol)) reasons.push(`${what}: max error ${fmt(stats.maxErr)} > ${fmt(bounds.maxTol)}`);
  if (!(stats.meanErr <= bounds.meanTol)) reasons.push(`${what}: mean error ${fmt(stats.meanErr)} > ${fmt(bounds.meanTol)}`);
  return reasons;
}

export function fmt(x: number): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return String(x);
  return x.toExponential(2);
}
