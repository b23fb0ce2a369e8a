// Nothing outside the caller's buffers is read: test/native/guard_page_check.cpp runs the CPU backend over a sweep
// of shapes, dtypes, masks and K/V layouts (contiguous, paged) with Q, K and V each ending where an inaccessible
// page begins, once per SIMD level this CPU has, and its control (a read one element past such a buffer) must die
// of SIGSEGV.
import { buildInfo } from '../lib';
import { nativeCheck, run } from './helpers/native-checks';

const LEVELS = ['scalar', 'avx2', 'avx512', 'avx512bf16'];
const best = LEVELS.indexOf(buildInfo().cpuSimd);
const check = nativeCheck('guard_page_check');

test('the control read past a guarded buffer faults', () => {
  const result = run(check(), ['--control']);
  expect(result.signal).toBe('SIGSEGV');
  expect(result.stdout).not.toContain('control read');
});

describe.each(LEVELS)('cpu backend on %s', (level) => {
  const supported = best >= LEVELS.indexOf(level);
  if (!supported) console.log(`${level}: skipped, the best level of this CPU is ${buildInfo().cpuSimd}`);
  (supported ? test : test.skip)('reads only inside Q, K and V', () => {
    const result = run(check(), [], { ...process.env, NODE_GQA_CPU_SIMD: level });
    expect(result.signal).toBeNull();
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`guard_page_check: ${level} 864 calls, no read outside`);
  });
});
