// Timing for the benchmarks: warm-up calls, then the median wall time of the timed calls.

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
