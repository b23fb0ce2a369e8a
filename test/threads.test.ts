// Leaving `threads` out means every core the process may run on: its CPU affinity (taskset, a container's cpuset),
// not the machine's CPU count. The CPU backend starts pool threads as a call needs them, so the threads a process
// has after one such call show how many the call used.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const lib = path.join(__dirname, '..', 'dist', 'lib');
// A decode call over enough keys to split, on one thread and then with the default count: prints the process's
// threads before and after the second.
const script = `
const fs = require('fs');
const { Tensor, attention } = require(${JSON.stringify(lib)});
const shape = [1, 1024, 2, 64];
const kv = () => Tensor.fromFloat32(Float32Array.from({ length: 1024 * 2 * 64 }, (_, i) => Math.sin(i)), 'f32', shape);
const q = Tensor.fromFloat32(Float32Array.from({ length: 4 * 64 }, (_, i) => Math.cos(i)), 'f32', [1, 1, 4, 64]);
const [k, v] = [kv(), kv()];
attention(q, k, v, { threads: 1 });
const before = fs.readdirSync('/proc/self/task').length;
attention(q, k, v);
console.log(JSON.stringify({ before, after: fs.readdirSync('/proc/self/task').length }));
`;

function threadsAroundDefaultCall(prefix: string[]): { before: number; after: number } {
  const [command, ...args] = [...prefix, process.execPath, '-e', script];
  const run = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, NODE_GQA_QUIET: '1' } });
  if (run.status !== 0) throw new Error(`${command} exited with ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

// The first CPU this process may run on, from /proc/self/status ("Cpus_allowed_list: 0-3,8").
function firstAllowedCpu(): string {
  const line = fs.readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('Cpus_allowed_list:'));
  return line!.split(':')[1].trim().split(/[-,]/)[0];
}

const linux = process.platform === 'linux' && fs.existsSync('/proc/self/task');
const taskset = linux && spawnSync('taskset', ['--version']).status === 0;
if (!linux) console.log('threads: skipped, /proc/self/task is Linux only');
else if (!taskset) console.log('threads: affinity case skipped, taskset is not installed');

(taskset ? test : test.skip)('under an affinity of one CPU, a call starts no pool thread', () => {
  const { before, after } = threadsAroundDefaultCall(['taskset', '-c', firstAllowedCpu()]);
  expect(after).toBe(before);
});

(linux && os.availableParallelism() >= 2 ? test : test.skip)('with two or more CPUs allowed, a call uses more than one', () => {
  const { before, after } = threadsAroundDefaultCall([]);
  expect(after).toBeGreaterThan(before);
});
