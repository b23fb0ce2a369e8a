// The CPU backend's threads, seen from the process: leaving `threads` out means every core the process may run on
// (its CPU affinity: taskset, a container's cpuset), not the machine's CPU count; the pool starts threads as calls
// need them, wakes waiting ones only for work, and runs concurrent async calls as their threads fit on the cores.
// Each case runs a script in a child process, on the built package, and reads /proc/self/task.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { BUILT_LIB, runNodeScript } from './helpers/node-script';

// A decode shape with enough keys to split: q [1, 1, 4, 64], k = v [1, 1024, 2, 64].
const preamble = `
const fs = require('fs');
const { Tensor, attention, attentionAsync } = require(${JSON.stringify(BUILT_LIB)});
const kv = Tensor.fromFloat32(Float32Array.from({ length: 1024 * 2 * 64 }, (_, i) => Math.sin(i)), 'f32', [1, 1024, 2, 64]);
const q = Tensor.fromFloat32(Float32Array.from({ length: 4 * 64 }, (_, i) => Math.cos(i)), 'f32', [1, 1, 4, 64]);
const threads = () => fs.readdirSync('/proc/self/task');
`;

/** Runs preamble + script under `prefix` (a command such as taskset) and returns what it printed, as JSON. */
function runScript(script: string, prefix: string[] = []): Record<string, number> {
  return JSON.parse(runNodeScript(preamble + script, prefix));
}

// A call on one thread and then one with the default count: the process's threads before and after the second.
const defaultCall = `
attention(q, kv, kv, { threads: 1 });
const before = threads().length;
attention(q, kv, kv);
console.log(JSON.stringify({ before, after: threads().length }));
`;

// The first CPU this process may run on, from /proc/self/status ("Cpus_allowed_list: 0-3,8").
function firstAllowedCpu(): string {
  const line = fs.readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('Cpus_allowed_list:'));
  return line!.split(':')[1].trim().split(/[-,]/)[0];
}

const linux = process.platform === 'linux' && fs.existsSync('/proc/self/task');
const taskset = linux && spawnSync('taskset', ['--version']).status === 0;
const multicore = linux && os.availableParallelism() >= 2;
if (!linux) console.log('threads: skipped, /proc/self/task is Linux only');
else if (!taskset) console.log('threads: affinity case skipped, taskset is not installed');

(taskset ? test : test.skip)('under an affinity of one CPU, a call starts no pool thread', () => {
  const { before, after } = runScript(defaultCall, ['taskset', '-c', firstAllowedCpu()]);
  expect(after).toBe(before);
});

(multicore ? test : test.skip)('with two or more CPUs allowed, a call uses more than one', () => {
  const { before, after } = runScript(defaultCall);
  expect(after).toBeGreaterThan(before);
});

(multicore ? test : test.skip)('one-thread calls leave the waiting pool threads asleep', () => {
  // A pool thread woken for nothing polls the queue for a while: one-thread calls that woke every waiting thread
  // ran 30% slower for the core it took.
  const { poolThreads, switches } = runScript(`
const switches = () => Object.fromEntries(threads().map((t) => {
  const status = fs.readFileSync('/proc/self/task/' + t + '/status', 'utf8');
  return [t, Number(/^voluntary_ctxt_switches:\\s+(\\d+)/m.exec(status)[1]) + Number(/^nonvoluntary_ctxt_switches:\\s+(\\d+)/m.exec(status)[1])];
}));
const before = threads();
attention(q, kv, kv, { threads: 2 });
const pool = threads().filter((t) => !before.includes(t));
const until = Date.now() + 50;
while (Date.now() < until);  // the pool thread stops polling and waits
const start = switches();
for (let i = 0; i < 200; i++) attention(q, kv, kv, { threads: 1 });
const end = switches();
console.log(JSON.stringify({ poolThreads: pool.length, switches: pool.reduce((n, t) => n + end[t] - start[t], 0) }));
`);
  expect(poolThreads).toBe(1);
  expect(switches).toBeLessThan(20);  // 200 with a wake-up per call
});

(multicore ? test : test.skip)('concurrent async calls on every core start no more pool threads than there are cores', () => {
  // Calls that each take every core run one at a time.
  const { started } = runScript(`
const before = threads().length;
Promise.all(Array.from({ length: 16 }, () => attentionAsync(q, kv, kv))).then(() => {
  console.log(JSON.stringify({ started: threads().length - before }));
});
`);
  expect(started).toBeGreaterThan(1);  // the calls ran on several threads
  expect(started).toBeLessThanOrEqual(os.availableParallelism());
});
