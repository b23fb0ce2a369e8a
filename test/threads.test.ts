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

// Pool threads that wait for work are woken only for tasks: a one-thread call leaves them asleep (one that woke them
// all had them poll the queue for a while, and ran 30% slower for the core they took).
const wakeScript = `
const fs = require('fs');
const { Tensor, attention } = require(${JSON.stringify(lib)});
const shape = [1, 1024, 2, 64];
const kv = Tensor.fromFloat32(Float32Array.from({ length: 1024 * 2 * 64 }, (_, i) => Math.sin(i)), 'f32', shape);
const q = Tensor.fromFloat32(Float32Array.from({ length: 4 * 64 }, (_, i) => Math.cos(i)), 'f32', [1, 1, 4, 64]);
const switches = () => Object.fromEntries(fs.readdirSync('/proc/self/task').map((t) => {
  const status = fs.readFileSync('/proc/self/task/' + t + '/status', 'utf8');
  return [t, Number(/^voluntary_ctxt_switches:\\s+(\\d+)/m.exec(status)[1]) + Number(/^nonvoluntary_ctxt_switches:\\s+(\\d+)/m.exec(status)[1])];
}));
const before = fs.readdirSync('/proc/self/task');
attention(q, kv, kv, { threads: 2 });
const pool = fs.readdirSync('/proc/self/task').filter((t) => !before.includes(t));
const until = Date.now() + 50;
while (Date.now() < until);  // the pool thread stops polling and waits
const start = switches();
for (let i = 0; i < 200; i++) attention(q, kv, kv, { threads: 1 });
const end = switches();
console.log(JSON.stringify({ poolThreads: pool.length, switches: pool.reduce((n, t) => n + end[t] - start[t], 0) }));
`;

(linux && os.availableParallelism() >= 2 ? test : test.skip)('one-thread calls leave the waiting pool threads asleep', () => {
  const run = spawnSync(process.execPath, ['-e', wakeScript], { encoding: 'utf8', env: { ...process.env, NODE_GQA_QUIET: '1' } });
  if (run.status !== 0) throw new Error(`the script exited with ${run.status}: ${run.stderr}`);
  const { poolThreads, switches } = JSON.parse(run.stdout);
  expect(poolThreads).toBe(1);
  expect(switches).toBeLessThan(20);  // 200 with a wake-up per call
});

// Concurrent async calls share the cores: the pool starts them as their threads fit beside those of the calls
// running, so calls that each take every core run one at a time, on no more threads than there are cores.
const concurrentScript = `
const fs = require('fs');
const { Tensor, attentionAsync } = require(${JSON.stringify(lib)});
const shape = [1, 1024, 2, 64];
const kv = Tensor.fromFloat32(Float32Array.from({ length: 1024 * 2 * 64 }, (_, i) => Math.sin(i)), 'f32', shape);
const q = Tensor.fromFloat32(Float32Array.from({ length: 4 * 64 }, (_, i) => Math.cos(i)), 'f32', [1, 1, 4, 64]);
const before = fs.readdirSync('/proc/self/task').length;
Promise.all(Array.from({ length: 16 }, () => attentionAsync(q, kv, kv))).then(() => {
  console.log(JSON.stringify({ started: fs.readdirSync('/proc/self/task').length - before }));
});
`;

(linux && os.availableParallelism() >= 2 ? test : test.skip)('concurrent async calls on every core start no more pool threads than there are cores', () => {
  const run = spawnSync(process.execPath, ['-e', concurrentScript], { encoding: 'utf8', env: { ...process.env, NODE_GQA_QUIET: '1' } });
  if (run.status !== 0) throw new Error(`the script exited with ${run.status}: ${run.stderr}`);
  const { started } = JSON.parse(run.stdout);
  expect(started).toBeGreaterThan(1);  // the calls ran on several threads
  expect(started).toBeLessThanOrEqual(os.availableParallelism());
});
