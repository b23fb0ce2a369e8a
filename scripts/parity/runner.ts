// Runs one case: its inputs, the golden (float64 reference) and lp_ref (f32-math reference, output rounded to the
// dtype) once per size, then each backend twice (determinism), and the checks of tolerance.ts. The references are
// split over head ranges and run on the thread pool (zero-copy head views), so a GPU run's full-size golden uses
// every core.
import { availableParallelism } from 'os';
import { AttentionOptions, BackendName, Tensor, attentionAsync } from '../../lib';
import { ParityCase } from './cases';
import { ErrorStats, bhsIndex, bshdIndex, errorStats, onesViolations, sameBits, values } from './metrics';
import { CaseInputs, caseInputs } from './random';
import { Bounds, check, lseBounds, outBounds } from './tolerance';

export interface Figures extends ErrorStats, Bounds {
  lpRefMaxErr: number;
  lpRefMeanErr: number;
  /** Where the largest error is: [b, s, h, d] for the output, [b, h, s] for the LSE. */
  worst: number[] | null;
}

export type Verdict = 'pass' | 'fail' | 'error';

export interface CaseResult {
  case: string;
  backend: string;
  /** The shape and options as run (after scaling). dtype is 'bf16', or 'bf16->f32' when the output dtype differs. */
  shape: { B: number; Sq: number; Skv: number; Hq: number; Hkv: number; D: number };
  dtype: string;
  options: Record<string, unknown>;
  /** The scale factor applied (1: full size). */
  scale: number;
  inject: string | null;
  verdict: Verdict;
  reasons: string[];
  out: Figures | null;
  lse: Figures | null;
  /** V all ones: elements of rows with an allowed key that are not exactly 1 (null: not a V = 1 case). */
  onesViolations: number | null;
  deterministic: boolean | null;
  ms: { golden: number; lpRef: number; backend: number };
}

/** Options every call of the case gets (mask, window, sinks, softcap). */
export function caseOptions(c: ParityCase, inputs: CaseInputs): AttentionOptions {
  const o: AttentionOptions = {};
  if (c.causal) o.causal = c.causal;
  if (c.window) o.window = c.window;
  if (c.alignment) o.alignment = c.alignment;
  if (c.softcap) o.softcap = c.softcap;
  if (inputs.sinks) o.sinks = inputs.sinks;
  return o;
}

/** What the report records of a case's options. */
export function describeOptions(c: ParityCase): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const key of ['causal', 'window', 'alignment', 'softcap', 'sinks', 'layout', 'qkScale', 'vOnes'] as const) {
    if (c[key] !== undefined && c[key] !== false) o[key] = c[key];
  }
  return o;
}

interface RefResult {
  out: Float32Array;
  lse: Float32Array;
  ms: number;
}

function headView(t: Tensor, h0: number, nh: number): Tensor {
  return new Tensor(t.data.subarray(h0 * t.strides[2]), t.dtype, [t.shape[0], t.shape[1], nh, t.shape[3]], t.strides);
}

/** The reference ('reference' or 'reference-f32') with output dtype `outDtype`, split over head ranges in parallel. */
async function reference(c: ParityCase, inputs: CaseInputs, backend: BackendName, outDtype: 'f32' | 'bf16' | 'f16'): Promise<{ out: Tensor; lse: Float32Array; ms: number }> {
  const t0 = performance.now();
  const { q, k, v } = inputs;
  const out = Tensor.zeros(outDtype, [c.B, c.Sq, c.Hq, c.D]);
  const lse = new Float32Array(c.B * c.Hq * c.Sq);
  const chunks = Math.max(1, Math.min(c.Hq, availableParallelism(), Number(process.env.UV_THREADPOOL_SIZE ?? 4)));
  const group = c.Hq / c.Hkv;
  const base = caseOptions(c, inputs);
  const jobs: Promise<void>[] = [];
  for (let n = 0; n < chunks; n++) {
    const h0 = Math.floor((n * c.Hq) / chunks), h1 = Math.floor(((n + 1) * c.Hq) / chunks);
    const nh = h1 - h0;
    if (nh === 0) continue;
    const sliceLse = new Float32Array(c.B * nh * c.Sq);
    const options: AttentionOptions = {
      ...base,
      backend,
      headMap: Int32Array.from({ length: nh }, (_, i) => Math.floor((h0 + i) / group)),
      out: headView(out, h0, nh),
      lse: sliceLse,
    };
    if (base.sinks) options.sinks = base.sinks.subarray(h0, h1);
    jobs.push(attentionAsync(headView(q, h0, nh), k, v, options as AttentionOptions & { lse: Float32Array }).then(() => {
      for (let b = 0; b < c.B; b++) {
        lse.set(sliceLse.subarray(b * nh * c.Sq, (b + 1) * nh * c.Sq), (b * c.Hq + h0) * c.Sq);
      }
    }));
  }
  await Promise.all(jobs);
  return { out, lse, ms: performance.now() - t0 };
}

/** The golden and lp_ref of a case (as scaled). */
export interface References {
  inputs: CaseInputs;
  golden: RefResult;
  lpRef: RefResult;
  lpRefOut: ErrorStats;
  lpRefLse: ErrorStats;
}

export async function references(c: ParityCase, seed: number): Promise<References> {
  const inputs = caseInputs(c, seed);
  const g = await reference(c, inputs, 'reference', 'f32');
  const l = await reference(c, inputs, 'reference-f32', c.outDtype ?? c.dtype);
  const golden = { out: values(g.out), lse: g.lse, ms: g.ms };
  const lpRef = { out: values(l.out), lse: l.lse, ms: l.ms };
  return { inputs, golden, lpRef, lpRefOut: errorStats(lpRef.out, golden.out), lpRefLse: errorStats(lpRef.lse, golden.lse) };
}

function figures(stats: ErrorStats, lp: ErrorStats, bounds: Bounds, worst: number[] | null): Figures {
  return { ...stats, ...bounds, lpRefMaxErr: lp.maxErr, lpRefMeanErr: lp.meanErr, worst };
}

export interface RunSettings {
  inject?: string;
  threads?: number;
}

/** Runs the backend twice on the case's inputs and checks it against the references. */
export async function runBackend(c: ParityCase, backend: BackendName, refs: References, scale: number, settings: RunSettings = {}): Promise<CaseResult> {
  const inject = backend === 'cpu' && settings.inject ? settings.inject : null;
  const result: CaseResult = {
    case: c.name, backend,
    shape: { B: c.B, Sq: c.Sq, Skv: c.Skv, Hq: c.Hq, Hkv: c.Hkv, D: c.D },
    dtype: c.outDtype && c.outDtype !== c.dtype ? `${c.dtype}->${c.outDtype}` : c.dtype, options: describeOptions(c), scale, inject,
    verdict: 'error', reasons: [], out: null, lse: null, onesViolations: null, deterministic: null,
    ms: { golden: Math.round(refs.golden.ms), lpRef: Math.round(refs.lpRef.ms), backend: 0 },
  };
  const outDtype = c.outDtype ?? c.dtype;
  const options: AttentionOptions = { ...caseOptions(c, refs.inputs), backend, returnLse: true, outDtype };
  if (inject) options.fault = inject;
  if (settings.threads !== undefined && backend === 'cpu') options.threads = settings.threads;
  const { q, k, v } = refs.inputs;
  try {
    const t0 = performance.now();
    const first = await attentionAsync(q, k, v, options as AttentionOptions & { returnLse: true });
    result.ms.backend = Math.round(performance.now() - t0);
    const second = await attentionAsync(q, k, v, options as AttentionOptions & { returnLse: true });
    const out = values(first.out);
    const lse = first.lse.data as Float32Array;
    const outStats = errorStats(out, refs.golden.out);
    const lseStats = errorStats(lse, refs.golden.lse);
    const ob = outBounds(outDtype, refs.lpRefOut);
    const lb = lseBounds(refs.lpRefLse);
    result.out = figures(outStats, refs.lpRefOut, ob, outStats.worstIndex < 0 ? null : bshdIndex(outStats.worstIndex, c.Sq, c.Hq, c.D));
    result.lse = figures(lseStats, refs.lpRefLse, lb, lseStats.worstIndex < 0 ? null : bhsIndex(lseStats.worstIndex, c.Hq, c.Sq));
    result.reasons.push(...check('out', outStats, ob), ...check('lse', lseStats, lb));
    if (c.vOnes) {
      result.onesViolations = onesViolations(out, refs.golden.lse, c.B, c.Sq, c.Hq, c.D);
      if (result.onesViolations > 0) result.reasons.push(`V = 1: ${result.onesViolations} elements are not exactly 1`);
    }
    result.deterministic = sameBits(first.out, second.out) && sameBits(first.lse, second.lse);
    if (!result.deterministic) result.reasons.push('two runs gave different bits');
    result.verdict = result.reasons.length ? 'fail' : 'pass';
  } catch (err) {
    result.verdict = 'error';
    result.reasons.push(`${(err as Error).name ?? 'Error'}: ${(err as Error).message}`);
  }
  return result;
}
