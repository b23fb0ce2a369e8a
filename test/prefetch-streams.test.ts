// The decode passes' prefetch streams cover exactly the rows they should in each K/V layout:
// test/native/prefetch_stream_check.cpp, built with CMake in a throw-away folder and run. A lost stream changes no
// result, only decode's speed from memory, so the result tests cannot see it.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ROOT } from './helpers/prebuild';

let buildDir = '';
beforeAll(() => {
  buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gqa-prefetch-streams-'));
});
afterAll(() => fs.rmSync(buildDir, { recursive: true, force: true }));

function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

test('prefetch streams cover the rows of a run of keys in BSHD, head-major and paged K', () => {
  run('cmake', ['-S', path.join(ROOT, 'test', 'native'), '-B', buildDir]);
  run('cmake', ['--build', buildDir, '--target', 'prefetch_stream_check']);
  const out = run(path.join(buildDir, 'prefetch_stream_check'), []);
  const lines = out.split('\n').filter((line) => /^(PASS|FAIL) /.test(line));
  expect(lines.filter((line) => !line.startsWith('PASS'))).toEqual([]);
  expect(lines).toHaveLength(8);
  expect(out).toContain('prefetch_stream_check: all passed');
}, 300_000);
