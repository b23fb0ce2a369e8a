// The HIP prefill kernel's MFMA lane layouts, checked on the CPU: test/native/mfma_layout_check.cpp (an emulation
// of the MFMA instructions from AMD's documented layouts, run over the kernel's fragment mappings, plus its
// cross-lane reductions emulated over 64 lanes) is built with CMake in a throw-away folder and run.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ROOT } from './helpers/prebuild';

let buildDir = '';
beforeAll(() => {
  buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gqa-native-checks-'));
});
afterAll(() => fs.rmSync(buildDir, { recursive: true, force: true }));

function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

test('MFMA operand, result and line-reduction lanes match an emulated wavefront, and the controls fail', () => {
  run('cmake', ['-S', path.join(ROOT, 'test', 'native'), '-B', buildDir]);
  run('cmake', ['--build', buildDir, '--target', 'mfma_layout_check']);
  const out = run(path.join(buildDir, 'mfma_layout_check'), []);
  const lines = out.split('\n').filter((line) => /^(PASS|FAIL) /.test(line));
  // 3 seeds x (2 dtypes x (2 checks + 2 controls) + line reductions + their control), every line passing: each
  // control did fail as it must.
  expect(lines).toHaveLength(30);
  expect(lines.filter((line) => !line.startsWith('PASS'))).toEqual([]);
  expect(lines.filter((line) => line.includes('control:'))).toHaveLength(15);
  expect(out).toContain('mfma_layout_check: all passed');
});
