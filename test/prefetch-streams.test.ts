// The decode passes' prefetch streams cover exactly the rows they should in each K/V layout:
// test/native/prefetch_stream_check.cpp. A lost stream changes no result, only decode's speed from memory, so the
// result tests cannot see it.
import { mustRun, nativeCheck } from './helpers/native-checks';

const check = nativeCheck('prefetch_stream_check');

test('prefetch streams cover the rows of a run of keys in BSHD, head-major and paged K', () => {
  const out = mustRun(check(), []);
  const lines = out.split('\n').filter((line) => /^(PASS|FAIL) /.test(line));
  expect(lines.filter((line) => !line.startsWith('PASS'))).toEqual([]);
  expect(lines).toHaveLength(8);
  expect(out).toContain('prefetch_stream_check: all passed');
});
