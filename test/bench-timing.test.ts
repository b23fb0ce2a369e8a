// The benchmark's timing helpers: medians, and blocks of calls that take turns so that compared sides share the
// machine's slow and fast minutes.
import { alternatingMediansMs, median } from '../scripts/bench/timing';

describe('median', () => {
  test('takes the middle value, or the mean of the middle two, without reordering its input', () => {
    const odd = [5, 1, 3];
    expect(median(odd)).toBe(3);
    expect(odd).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('alternatingMediansMs', () => {
  test('runs each call in blocks of warm-ups then timed calls, the blocks taking turns round by round', async () => {
    const order: string[] = [];
    const medians = await alternatingMediansMs(2, 1, 3, [() => order.push('a'), () => order.push('b')], 0);
    const block = (name: string) => Array(4).fill(name);
    expect(order).toEqual([...block('a'), ...block('b'), ...block('a'), ...block('b')]);
    expect(medians).toHaveLength(2);
    for (const ms of medians) expect(ms).toBeGreaterThanOrEqual(0);
  });

  test('times what each call takes, awaiting promises', async () => {
    const wait = (ms: number) => () => new Promise((resolve) => setTimeout(resolve, ms));
    const [short, long] = await alternatingMediansMs(1, 0, 3, [wait(1), wait(40)], 0);
    expect(short).toBeLessThan(long);
    expect(long).toBeGreaterThanOrEqual(39);
  });
});
