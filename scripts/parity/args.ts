// Command-line arguments of node-gqa-parity. Any problem is a UsageError (exit code 2).
import { parseArgs } from 'util';
import { SET_NAMES, SetName, isSetName } from './cases';
import { CPU_FACTOR, ScaleSetting, parseScale } from './scale';

/** The test-only faults the cpu backend can inject (csrc/include/gqa/params.h, gqa::Fault). */
export const FAULTS = [
  'scores-bf16', 'p-bf16', 'p-round-toward-zero', 'head-map-modulo', 'causal-off-by-one', 'drop-last-kv-tile', 'max-before-fma',
] as const;

export const BACKENDS = ['cpu', 'cuda', 'rocm'] as const;
export type ParityBackend = (typeof BACKENDS)[number];

export class UsageError extends Error {}

export const USAGE = `usage:
  node-gqa-parity [run] [options]           run a case set against the float64 reference
  node-gqa-parity compare A.json B.json     line up two reports case by case, flag differing errors
  node-gqa-parity list [--set NAME]         list a set's cases (as run on each backend)

run options:
  --set NAME          smoke (default; seconds on CPU), full, mi300x-gqa-bf16
  --backend LIST      comma-separated cpu,cuda,rocm, or all (default: every backend usable here)
  --seed N            replay a run (default: a fresh random seed, printed)
  --scale S           auto (default: full size on GPUs, 1/${CPU_FACTOR} on the CPU), full, or a factor >= 1
  --filter REGEX      only cases whose name matches
  --inject FAULT      test-only: make the cpu backend inject a fault (${FAULTS.join(', ')})
  --threads N         cpu backend threads (default all cores)
  --json FILE         write the JSON report (schema: docs/parity.md)
  --quiet             no progress lines
compare options:
  --json FILE         write the comparison as JSON
exit codes: 0 all passed (compare: no differences), 1 a failure (compare: differences), 2 usage error`;

export interface RunArgs {
  command: 'run';
  set: SetName;
  backends: ParityBackend[] | 'all';
  seed: number | null;
  scale: ScaleSetting;
  scaleText: string;
  filter: RegExp | null;
  inject: string | null;
  threads: number | undefined;
  json: string | null;
  quiet: boolean;
}

export interface CompareArgs {
  command: 'compare';
  a: string;
  b: string;
  json: string | null;
}

export interface ListArgs {
  command: 'list';
  set: SetName;
  scale: ScaleSetting;
}

export type Args = RunArgs | CompareArgs | ListArgs | { command: 'help' };

function integer(name: string, s: string, min: number, max: number): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${name}: expected an integer in [${min}, ${max}], received '${s}'`);
  return n;
}

export function parseCliArgs(argv: string[]): Args {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        set: { type: 'string', default: 'smoke' },
        backend: { type: 'string', default: 'all' },
        seed: { type: 'string' },
        scale: { type: 'string', default: 'auto' },
        filter: { type: 'string' },
        inject: { type: 'string' },
        threads: { type: 'string' },
        json: { type: 'string' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) return { command: 'help' };
  const command = positionals[0] ?? 'run';
  const rest = positionals.slice(1);
  if (command === 'compare') {
    if (rest.length !== 2) throw new UsageError('compare: expected two report files');
    return { command, a: rest[0], b: rest[1], json: v.json ?? null };
  }
  if (!isSetName(v.set!)) throw new UsageError(`--set: expected one of ${SET_NAMES.join(', ')}, received '${v.set}'`);
  const scale = parseScale(v.scale!);
  if (scale === undefined) throw new UsageError(`--scale: expected auto, full or a number >= 1, received '${v.scale}'`);
  if (command === 'list') {
    if (rest.length) throw new UsageError(`list: unexpected argument '${rest[0]}'`);
    return { command, set: v.set, scale };
  }
  if (command !== 'run') throw new UsageError(`unknown command '${command}'`);
  if (rest.length) throw new UsageError(`run: unexpected argument '${rest[0]}'`);

  let backends: ParityBackend[] | 'all';
  if (v.backend === 'all') backends = 'all';
  else {
    const list = v.backend!.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = list.find((b) => !(BACKENDS as readonly string[]).includes(b));
    if (bad !== undefined || list.length === 0) throw new UsageError(`--backend: expected a list of ${BACKENDS.join(', ')} or all, received '${v.backend}'`);
    backends = [...new Set(list)] as ParityBackend[];
  }
  if (v.inject !== undefined && !(FAULTS as readonly string[]).includes(v.inject)) {
    throw new UsageError(`--inject: expected one of ${FAULTS.join(', ')}, received '${v.inject}'`);
  }
  let filter: RegExp | null = null;
  if (v.filter !== undefined) {
    try {
      filter = new RegExp(v.filter);
    } catch (err) {
      throw new UsageError(`--filter: ${(err as Error).message}`);
    }
  }
  return {
    command: 'run',
    set: v.set,
    backends,
    seed: v.seed === undefined ? null : integer('--seed', v.seed, 0, 2 ** 32 - 1),
    scale,
    scaleText: v.scale!,
    filter,
    inject: v.inject ?? null,
    threads: v.threads === undefined ? undefined : integer('--threads', v.threads, 0, 1024),
    json: v.json ?? null,
    quiet: v.quiet!,
  };
}
