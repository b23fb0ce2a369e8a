// Nothing outside the caller's buffers is read: test/native/guard_page_check.cpp runs the CPU backend over a sweep
// of shapes, dtypes, masks and K/V layouts (contiguous, paged) with Q, K and V each ending where an inaccessible
// page begins, once per SIMD level this CPU has, and its control (a read one element past such a buffer) must die
// of SIGSEGV.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildInfo } from '../lib';
import { ROOT } from './helpers/prebuild';

const LEVELS = ['scalar', 'avx2', 'avx512', 'avx512bf16'];
const best = LEVELS.indexOf(buildInfo().cpuSimd);
let buildDir = '';
let check = '';

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', env });
}

function mustRun(command: string, args: string[]) {
  const result = run(command, args);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}${result.stderr}`);
}

beforeAll(() => {
  buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gqa-guard-pages-'));
  mustRun('cmake', ['-S', path.join(ROOT, 'test', 'native'), '-B', buildDir]);
  mustRun('cmake', ['--build', buildDir, '--target', 'guard_page_check', '--parallel']);
  check = path.join(buildDir, 'guard_page_check');
}, 600_000);
afterAll(() => fs.rmSync(buildDir, { recursive: true, force: true }));

test('the control read past a guarded buffer faults', () => {
  const result = run(check, ['--control']);
  expect(result.signal).toBe('SIGSEGV');
  expect(result.stdout).not.toContain('control read');
});

describe.each(LEVELS)('cpu backend on %s', (level) => {
  const supported = best >= LEVELS.indexOf(level);
  if (!supported) console.log(`${level}: skipped, the best level of this CPU is ${buildInfo().cpuSimd}`);
  (supported ? test : test.skip)('reads only inside Q, K and V', () => {
    const result = run(check, [], { ...process.env, NODE_GQA_CPU_SIMD: level });
    expect(result.signal).toBeNull();
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`guard_page_check: ${level} 864 calls, no read outside`);
  });
});
