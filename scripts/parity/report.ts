// The JSON report (--json FILE). Schema documented in docs/parity.md; bump SCHEMA_VERSION on any change that
// breaks a reader (compare.ts reads reports of the same major version).
import { CaseResult } from './runner';
import { policy } from './tolerance';

export const SCHEMA = 'node-gqa-parity-report';
export const SCHEMA_VERSION = 1;

export interface Summary {
  total: number;
  passed: number;
  failed: number;
  errors: number;
}

export interface Report {
  schema: typeof SCHEMA;
  schemaVersion: number;
  createdAt: string;
  tool: { name: string; argv: string[] };
  run: { set: string; backends: string[]; seed: number; scale: string; inject: string | null; filter: string | null };
  environment: ReturnType<typeof import('./environment').environment>;
  tolerance: ReturnType<typeof policy>;
  results: CaseResult[];
  summary: Summary;
  /** 'pass' when every result passed. */
  verdict: 'pass' | 'fail';
}

export function summarize(results: CaseResult[]): Summary {
  return {
    total: results.length,
    passed: results.filter((r) => r.verdict === 'pass').length,
    failed: results.filter((r) => r.verdict === 'fail').length,
    errors: results.filter((r) => r.verdict === 'error').length,
  };
}

export function makeReport(args: {
  argv: string[]; set: string; backends: string[]; seed: number; scale: string; inject: string | null; filter: string | null;
  environment: Report['environment']; results: CaseResult[];
}): Report {
  const summary = summarize(args.results);
  return {
    schema: SCHEMA,
    schemaVersion: SCHEMA_VERSION,
    createdAt: new Date().toISOString(),
    tool: { name: 'node-gqa-parity', argv: args.argv },
    run: { set: args.set, backends: args.backends, seed: args.seed, scale: args.scale, inject: args.inject, filter: args.filter },
    environment: args.environment,
    tolerance: policy(),
    results: args.results,
    summary,
    verdict: summary.passed === summary.total ? 'pass' : 'fail',
  };
}

/** Parses and checks a report file's text (throws with a readable message). */
export function parseReport(text: string, file: string): Report {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not JSON (${(err as Error).message})`);
  }
  const r = data as Report;
  if (r === null || typeof r !== 'object' || r.schema !== SCHEMA) throw new Error(`${file}: not a ${SCHEMA} file`);
  if (r.schemaVersion !== SCHEMA_VERSION) throw new Error(`${file}: schema version ${r.schemaVersion}, this tool reads ${SCHEMA_VERSION}`);
  if (!Array.isArray(r.results)) throw new Error(`${file}: no results array`);
  return r;
}
