// `node-gqa-parity compare a.json b.json`: lines two reports up case by case (say an H100 and an MI300X run of the
// same set) and flags where their errors differ beyond tolerance: a verdict that differs, a max error difference
// larger than the case's max tolerance, or a mean error difference larger than its mean tolerance (the smaller of
// the two reports' bounds). Cases run at different sizes (scale) are listed as not comparable.
import { Report } from './report';
import { CaseResult } from './runner';
import { renderTable } from './table';
import { fmt } from './tolerance';

export interface Comparison {
  case: string;
  a: string;
  b: string;
  status: 'same' | 'differs' | 'not comparable' | 'only in a' | 'only in b';
  reasons: string[];
  a_maxErr: number | null;
  b_maxErr: number | null;
  a_meanErr: number | null;
  b_meanErr: number | null;
  maxTol: number | null;
  meanTol: number | null;
}

function sameShape(x: CaseResult, y: CaseResult): boolean {
  return JSON.stringify(x.shape) === JSON.stringify(y.shape) && x.dtype === y.dtype;
}

function compareResults(x: CaseResult, y: CaseResult): Comparison {
  const c: Comparison = {
    case: x.case, a: x.backend, b: y.backend, status: 'same', reasons: [],
    a_maxErr: x.out?.maxErr ?? null, b_maxErr: y.out?.maxErr ?? null,
    a_meanErr: x.out?.meanErr ?? null, b_meanErr: y.out?.meanErr ?? null, maxTol: null, meanTol: null,
  };
  if (!sameShape(x, y)) {
    c.status = 'not comparable';
    c.reasons.push(`run at different sizes (${JSON.stringify(x.shape)} vs ${JSON.stringify(y.shape)})`);
    return c;
  }
  if (x.verdict !== y.verdict) c.reasons.push(`verdict ${x.verdict} vs ${y.verdict}`);
  if (x.out && y.out) {
    c.maxTol = Math.min(x.out.maxTol, y.out.maxTol);
    c.meanTol = Math.min(x.out.meanTol, y.out.meanTol);
    const dMax = Math.abs(x.out.maxErr - y.out.maxErr);
    const dMean = Math.abs(x.out.meanErr - y.out.meanErr);
    if (dMax > c.maxTol) c.reasons.push(`max error differs by ${fmt(dMax)} > ${fmt(c.maxTol)}`);
    if (dMean > c.meanTol) c.reasons.push(`mean error differs by ${fmt(dMean)} > ${fmt(c.meanTol)}`);
  }
  if (x.lse && y.lse) {
    const tol = Math.min(x.lse.maxTol, y.lse.maxTol);
    const d = Math.abs(x.lse.maxErr - y.lse.maxErr);
    if (d > tol) c.reasons.push(`lse max error differs by ${fmt(d)} > ${fmt(tol)}`);
  }
  if (x.onesViolations !== y.onesViolations) c.reasons.push(`V = 1 violations ${x.onesViolations} vs ${y.onesViolations}`);
  if (x.deterministic !== y.deterministic) c.reasons.push(`deterministic ${x.deterministic} vs ${y.deterministic}`);
  if (c.reasons.length) c.status = 'differs';
  return c;
}

/** Pairs every result of a case in `a` with every result of that case in `b` (one backend per report is usual). */
export function compareReports(a: Report, b: Report): Comparison[] {
  const byCase = (r: Report) => {
    const m = new Map<string, CaseResult[]>();
    for (const x of r.results) m.set(x.case, [...(m.get(x.case) ?? []), x]);
    return m;
  };
  const ma = byCase(a), mb = byCase(b);
  const out: Comparison[] = [];
  const blank = { reasons: [], a_maxErr: null, b_maxErr: null, a_meanErr: null, b_meanErr: null, maxTol: null, meanTol: null };
  for (const [name, xs] of ma) {
    const ys = mb.get(name);
    if (!ys) {
      for (const x of xs) out.push({ ...blank, reasons: [], case: name, a: x.backend, b: '-', status: 'only in a' });
      continue;
    }
    for (const x of xs) for (const y of ys) out.push(compareResults(x, y));
  }
  for (const [name, ys] of mb) {
    if (!ma.has(name)) for (const y of ys) out.push({ ...blank, reasons: [], case: name, a: '-', b: y.backend, status: 'only in b' });
  }
  return out;
}

function gpuName(r: Report): string {
  const g = r.environment?.gpus?.[0];
  return g ? `${g.name}${g.arch ? ` (${g.arch})` : ''}` : r.environment?.host?.cpu ?? 'unknown';
}

export function comparisonTable(a: Report, b: Report, rows: Comparison[], fileA: string, fileB: string): string {
  const header = ['case', 'a', 'b', 'a max err', 'b max err', 'max tol', 'a mean err', 'b mean err', 'mean tol', 'status'];
  const align: ('l' | 'r')[] = ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'l'];
  const f = (x: number | null) => (x === null ? '-' : fmt(x));
  const body = rows.map((c) => [c.case, c.a, c.b, f(c.a_maxErr), f(c.b_maxErr), f(c.maxTol), f(c.a_meanErr), f(c.b_meanErr), f(c.meanTol), c.status.toUpperCase()]);
  const notes = rows.filter((c) => c.reasons.length).map((c) => `  ${c.case} (${c.a} vs ${c.b}): ${c.reasons.join('; ')}`);
  return [
    `a: ${fileA}: ${gpuName(a)}, set ${a.run.set}, seed ${a.run.seed}, ${a.summary.passed}/${a.summary.total} passed`,
    `b: ${fileB}: ${gpuName(b)}, set ${b.run.set}, seed ${b.run.seed}, ${b.summary.passed}/${b.summary.total} passed`,
    '',
    renderTable(header, body, align),
    ...(notes.length ? ['', 'differences:', ...notes] : []),
  ].join('\n');
}
