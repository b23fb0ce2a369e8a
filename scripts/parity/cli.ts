#!/usr/bin/env node
// node-gqa-parity: runs a case set on the chosen backends against the float64 reference (tolerance.ts), prints a
// table, optionally writes a JSON report; or compares two reports. Exit code 0 pass, 1 failure, 2 usage error.
//   npx node-gqa-parity --set smoke --backend all --json parity.json
//   npx node-gqa-parity compare h100.json mi300x.json
import * as fs from 'fs';
import { availableParallelism } from 'os';

// The references run on libuv's thread pool (runner.ts): size it to the machine before its first use.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism()));

import { backends } from '../../lib';
import { Args, ListArgs, ParityBackend, RunArgs, USAGE, UsageError, parseCliArgs } from './args';
import { caseFlops, caseSet } from './cases';
import { comparisonTable, compareReports } from './compare';
import { environment } from './environment';
import { makeReport, parseReport } from './report';
import { CaseResult, References, references, runBackend } from './runner';
import { freshSeed } from './random';
import { scaleCase, scaleFactor } from './scale';
import { renderTable, resultsTable } from './table';
import { fmt } from './tolerance';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const processIo: Io = {
  out: (t) => process.stdout.write(t + '\n'),
  err: (t) => process.stderr.write(t + '\n'),
};

/** The backends that can run here: cpu always, a GPU one when its variant is installed and a device is usable. */
export function availableBackends(): ParityBackend[] {
  return backends().filter((b) => b.available).map((b) => b.name as ParityBackend);
}

function resolveBackends(requested: RunArgs['backends']): ParityBackend[] {
  const status = backends();
  const available = status.filter((b) => b.available).map((b) => b.name as ParityBackend);
  if (requested === 'all') return available;
  const missing = requested.filter((b) => !available.includes(b));
  if (missing.length) {
    const why = missing.map((b) => `${b}: ${status.find((s) => s.name === b)?.reason ?? 'unknown backend'}`).join('; ');
    throw new UsageError(`--backend: no usable ${missing.join(', ')} backend here (${why}); available: ${available.join(', ')}`);
  }
  return requested;
}

async function run(args: RunArgs, argv: string[], io: Io): Promise<number> {
  const backends = resolveBackends(args.backends);
  if (args.inject && !backends.includes('cpu')) throw new UsageError('--inject: faults are injected into the cpu backend only; add it to --backend');
  const seed = args.seed ?? freshSeed();
  const cases = caseSet(args.set).filter((c) => !args.filter || args.filter.test(c.name));
  if (cases.length === 0) throw new UsageError(`--filter: no case of set ${args.set} matches ${args.filter}`);
  const log = args.quiet ? () => undefined : io.err;
  log(`node-gqa-parity: set ${args.set} (${cases.length} cases), backends ${backends.join(', ')}, scale ${args.scaleText}` +
    `${args.inject ? `, injecting ${args.inject} into cpu` : ''}`);
  log(`seed ${seed} (replay with --seed ${seed})`);

  const results: CaseResult[] = [];
  const total = cases.length * backends.length;
  const started = performance.now();
  let done = 0;
  for (const c of cases) {
    // One golden per size: backends that share a scale factor share the references.
    const refs = new Map<number, References>();
    for (const backend of backends) {
      const factor = scaleFactor(args.scale, backend, c);
      const scaled = scaleCase(c, factor);
      let r = refs.get(factor);
      if (!r) {
        // The references of a full-size case take a while on the CPU: say so before the silence.
        const gflop = caseFlops(scaled) / 1e9;
        if (gflop > 2) log(`  ${c.name}: golden and lp_ref, ${gflop.toFixed(0)} GFLOP each on the CPU...`);
        r = await references(scaled, seed);
        refs.set(factor, r);
      }
      const result = await runBackend(scaled, backend, r, factor, { inject: args.inject ?? undefined, threads: args.threads });
      results.push(result);
      done++;
      const s = result.shape;
      const elapsed = ((performance.now() - started) / 1000).toFixed(1);
      log(`[${String(done).padStart(String(total).length)}/${total}] ${result.verdict.toUpperCase().padEnd(5)} ${c.name} on ${backend}` +
        ` (${s.B}x${s.Sq}x${s.Skv} ${s.Hq}/${s.Hkv} d${s.D} ${result.dtype})` +
        (result.out ? ` max ${fmt(result.out.maxErr)}/${fmt(result.out.maxTol)}` : '') + `  ${elapsed}s`);
    }
  }

  io.out(resultsTable(results));
  const report = makeReport({
    argv, set: args.set, backends, seed, scale: args.scaleText, inject: args.inject, filter: args.filter?.source ?? null,
    environment: environment(), results,
  });
  const s = report.summary;
  io.out(`\n${s.passed}/${s.total} passed, ${s.failed} failed, ${s.errors} errors; seed ${seed}; ${((performance.now() - started) / 1000).toFixed(1)}s`);
  if (args.json) {
    fs.writeFileSync(args.json, JSON.stringify(report, null, 2) + '\n');
    io.out(`report written to ${args.json}`);
  }
  return report.verdict === 'pass' ? 0 : 1;
}

function compare(a: string, b: string, json: string | null, io: Io): number {
  const read = (f: string) => {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch (err) {
      throw new UsageError(`${f}: ${(err as Error).message}`);
    }
    try {
      return parseReport(text, f);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  };
  const ra = read(a), rb = read(b);
  const rows = compareReports(ra, rb);
  io.out(comparisonTable(ra, rb, rows, a, b));
  const differing = rows.filter((r) => r.status !== 'same');
  io.out(`\n${rows.length - differing.length}/${rows.length} cases agree`);
  if (json) fs.writeFileSync(json, JSON.stringify({ a, b, rows }, null, 2) + '\n');
  return differing.length ? 1 : 0;
}

function list(args: ListArgs, io: Io): number {
  const rows = caseSet(args.set).map((c) => {
    const cpu = scaleCase(c, scaleFactor(args.scale, 'cpu', c));
    const gpu = scaleCase(c, scaleFactor(args.scale, 'cuda', c));
    const shape = (x: typeof c) => `${x.B}x${x.Sq}x${x.Skv} ${x.Hq}/${x.Hkv} d${x.D}`;
    return [c.name, c.dtype, shape(gpu), (caseFlops(gpu) / 1e9).toFixed(2), shape(cpu), (caseFlops(cpu) / 1e9).toFixed(2), c.why ?? ''];
  });
  io.out(renderTable(['case', 'dtype', 'GPU shape', 'GFLOP', 'CPU shape', 'GFLOP', 'what it checks'], rows, ['l', 'l', 'l', 'r', 'l', 'r', 'l']));
  return 0;
}

/** Runs the CLI; returns the exit code (never calls process.exit). */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let args: Args;
  try {
    args = parseCliArgs(argv);
    if (args.command === 'help') {
      io.out(USAGE);
      return 0;
    }
    if (args.command === 'compare') return compare(args.a, args.b, args.json, io);
    if (args.command === 'list') return list(args, io);
    return await run(args, argv, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`node-gqa-parity: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => { process.stderr.write(`node-gqa-parity: ${(err as Error).stack ?? err}\n`); process.exitCode = 1; },
  );
}
