// A Node.js script run in a child process, with the loader quiet, for tests that end processes or worker threads or
// read the process's own threads: the scripts require the built package (dist/lib, BUILT_LIB).
import { SpawnSyncReturns, spawnSync } from 'child_process';
import * as path from 'path';

export const BUILT_LIB = path.join(__dirname, '..', '..', 'dist', 'lib');

/** Runs `node -e script`, under `prefix` if given (a command such as taskset), for at most 60 s. */
export function spawnNodeScript(script: string, prefix: string[] = []): SpawnSyncReturns<string> {
  const [command, ...args] = [...prefix, process.execPath, '-e', script];
  return spawnSync(command, args, { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_GQA_QUIET: '1' } });
}

/** What the script printed; it must exit with status 0. */
export function runNodeScript(script: string, prefix: string[] = []): string {
  const run = spawnNodeScript(script, prefix);
  if (run.status !== 0) throw new Error(`the script exited with ${run.status} (${run.signal ?? 'no signal'}): ${run.stderr}`);
  return run.stdout;
}
