// Timing for the benchmarks: warm-up calls, then the median wall time of the timed calls.
import { setTimeout as sleep } from 'timers/promises';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Milliseconds taken by call(). */
export async function timeMs(call: () => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await call();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Median milliseconds of `runs` calls after `warmup` untimed ones; call(i) gets the call's index. */
export async function medianMs(runs: number, warmup: number, call: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < warmup; i++) await call(i);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timeMs(() => call(warmup + i)));
  return median(times);
}

/**
 * Median milliseconds of each of `calls`, timed in blocks that take turns: `rounds` times, each call in turn runs
 * `warmup` untimed and `perBlock` timed times in a row, after `pauseMs` idle. Sides compared this way share the
 * machine's slow and fast minutes alike, and each runs as in a loop of its own calls.
 */
export async function alternatingMediansMs(rounds: number, warmup: number, perBlock: number, calls: readonly (() => unknown)[], pauseMs: number): Promise<number[]> {
  const times = calls.map((): number[] => []);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < calls.length; i++) {
      await sleep(pauseMs);
      for (let w = 0; w < warmup; w++) await calls[i]();
      for (let t = 0; t < perBlock; t++) times[i].push(await timeMs(calls[i]));
    }
  }
  return times.map(median);
}
