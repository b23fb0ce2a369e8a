// Timing for the benchmarks: warm-up calls, then the median wall time of the timed calls.

/** Median milliseconds of `runs` calls after `warmup` untimed ones; call(i) gets the call's index. */
export async function medianMs(runs: number, warmup: number, call: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < warmup; i++) await call(i);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await call(warmup + i);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  return times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
}
