// The checks of test/native/ (plain C++, built apart from the addon, no GPU): a test file names the CMake target it
// runs; it is built in a throw-away folder before the file's tests and removed after them.
import { SpawnSyncReturns, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ROOT } from './prebuild';

export function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', env });
}

/** Runs a command that must exit with status 0, and returns its standard output. */
export function mustRun(command: string, args: string[]): string {
  const result = run(command, args);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** Builds `target` of test/native before this file's tests; the returned function gives the executable's path. */
export function nativeCheck(target: string): () => string {
  let buildDir = '';
  beforeAll(() => {
    buildDir = fs.mkdtempSync(path.join(os.tmpdir(), `gqa-${target}-`));
    mustRun('cmake', ['-S', path.join(ROOT, 'test', 'native'), '-B', buildDir]);
    mustRun('cmake', ['--build', buildDir, '--target', target, '--parallel']);
  }, 600_000);
  afterAll(() => fs.rmSync(buildDir, { recursive: true, force: true }));
  return () => path.join(buildDir, target);
}
