// The HIP prefill kernel's MFMA lane layouts, checked on the CPU: test/native/mfma_layout_check.cpp (an emulation
// of the MFMA instructions from AMD's documented layouts, run over the kernel's fragment mappings, plus its
// cross-lane reductions emulated over 64 lanes), built and run.
import { mustRun, nativeCheck } from './helpers/native-checks';

const check = nativeCheck('mfma_layout_check');

test('MFMA operand, result and line-reduction lanes match an emulated wavefront, and the controls fail', () => {
  const out = mustRun(check(), []);
  const lines = out.split('\n').filter((line) => /^(PASS|FAIL) /.test(line));
  // 3 seeds x (2 dtypes x (2 checks + 2 controls) + line reductions + their control), every line passing: each
  // control did fail as it must.
  expect(lines).toHaveLength(30);
  expect(lines.filter((line) => !line.startsWith('PASS'))).toEqual([]);
  expect(lines.filter((line) => line.includes('control:'))).toHaveLength(15);
  expect(out).toContain('mfma_layout_check: all passed');
});
