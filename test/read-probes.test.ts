/**
 * @jest-environment ./test/helpers/node-typed-arrays-environment.js
 */
// The benchmark's decode bounds: the streaming bandwidth probe and the timed read of given buffers. They run
// native loops over memory, so their arguments are checked like every other entry point's.
import { native } from '../lib/native';

const MIB = 1 << 20;

describe('measureReadBandwidth', () => {
  test('gives a positive rate in GB/s', () => {
    const gbps = native().measureReadBandwidth(4 * MIB, 2, 2);
    expect(Number.isFinite(gbps)).toBe(true);
    expect(gbps).toBeGreaterThan(0.1);
  });

  test.each([
    ['a buffer under 1 MiB', [1024, 1, 1], /bytes: expected an integer >= 1048576/],
    ['no threads', [MIB, 0, 1], /threads: expected an integer >= 1/],
    ['fractional repeats', [MIB, 1, 1.5], /repeats: expected an integer >= 1/],
  ])('rejects %s', (_, args, message) => {
    const [bytes, threads, repeats] = args as number[];
    expect(() => native().measureReadBandwidth(bytes, threads, repeats)).toThrow(message);
  });
});

describe('timeRead', () => {
  test('reads views of any type, offset and length, and gives seconds', () => {
    const buffer = new ArrayBuffer(3 * MIB + 13);
    const views = [new Float32Array(buffer, 4, MIB / 4), new Uint16Array(buffer, 2 * MIB + 6, 1000), new Uint8Array(5)];
    const seconds = native().timeRead(views, 2);
    expect(Number.isFinite(seconds)).toBe(true);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(10);
  });

  test.each([
    ['a non-array', [new Float32Array(4), 1], /expected an array of typed arrays and a number/],
    ['a plain array entry', [[[1, 2]], 1], /arrays\[0\]: expected a typed array/],
    ['an ArrayBuffer entry', [[new Float32Array(2), new ArrayBuffer(8)], 1], /arrays\[1\]: expected a typed array/],
    ['no threads', [[new Float32Array(2)], 0], /threads: expected an integer from 1 to 1024/],
    ['fractional threads', [[new Float32Array(2)], 1.5], /threads: expected an integer from 1 to 1024/],
  ])('rejects %s with ERR_GQA_OPTION', (_, args, message) => {
    const [arrays, threads] = args as [ArrayBufferView[], number];
    let error: unknown;
    try {
      native().timeRead(arrays, threads);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'ERR_GQA_OPTION', message: expect.stringMatching(message) });
  });
});
