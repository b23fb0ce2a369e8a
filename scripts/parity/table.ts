// The table printed at the end of a run (and by compare): one row per case and backend.
import { CaseResult } from './runner';
import { fmt } from './tolerance';

export function renderTable(header: string[], rows: string[][], align: ('l' | 'r')[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (align[i] === 'r' ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function shape(r: CaseResult): string {
  const s = r.shape;
  return `${s.B}x${s.Sq}x${s.Skv} ${s.Hq}/${s.Hkv} d${s.D}`;
}

/** The result table and, below it, why each failing row failed. */
export function resultsTable(results: CaseResult[]): string {
  const header = ['case', 'backend', 'dtype', 'B x Sq x Skv Hq/Hkv D', 'max err', 'max tol', 'mean err', 'mean tol', 'lse err', 'lse tol', 'verdict'];
  const align: ('l' | 'r')[] = ['l', 'l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'l'];
  const rows = results.map((r) => [
    r.case, r.backend + (r.inject ? `+${r.inject}` : ''), r.dtype, shape(r),
    r.out ? fmt(r.out.maxErr) : '-', r.out ? fmt(r.out.maxTol) : '-',
    r.out ? fmt(r.out.meanErr) : '-', r.out ? fmt(r.out.meanTol) : '-',
    r.lse ? fmt(r.lse.maxErr) : '-', r.lse ? fmt(r.lse.maxTol) : '-',
    r.verdict.toUpperCase(),
  ]);
  const notes = results
    .filter((r) => r.verdict !== 'pass')
    .map((r) => `  ${r.case} on ${r.backend}: ${r.reasons.join('; ')}` +
      (r.out?.worst ? ` (worst output element [b,s,h,d] = [${r.out.worst.join(', ')}])` : ''));
  return renderTable(header, rows, align) + (notes.length ? `\n\nfailures:\n${notes.join('\n')}` : '');
}
