// The fast CPU backend writes bf16 and f16 outputs with the same rounding as dtype.h defines, for every f32:
// test/native/output_rounding_check.cpp, through write_row and the vectorised clone of its 16-bit row writer that
// this CPU runs.
import { mustRun, nativeCheck } from './helpers/native-checks';

const check = nativeCheck('output_rounding_check');

test('write_row rounds all 2^32 f32 values to bf16 and f16 as dtype.h does', () => {
  const out = mustRun(check(), []);
  const lines = out.split('\n').filter((line) => /^(PASS|FAIL) /.test(line));
  expect(lines).toEqual(['PASS bf16', 'PASS f16']);
  expect(out).toContain('output_rounding_check: all passed');
}, 120_000);
