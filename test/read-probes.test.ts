/**
 * @jest-environment ./test/helpers/node-typed-arrays-environment.js
 */
// The benchmark's decode bounds: the streaming read (streamRead, on threads of its own) and the timed read of given
// buffers (timeRead, on the CPU backend's pool). They run native loops over memory, so their arguments are checked
// like every other entry point's.
import { native } from '../lib/native';

const MIB = 1 << 20;

/** The sum of a view's whole 8-byte words, little-endian, modulo 2^64: what a read must have summed. */
function wordSum(view: ArrayBufferView): bigint {
  const bytes = new DataView(view.buffer, view.byteOffset, view.byteLength);
  let sum = 0n;
  for (let at = 0; at + 8 <= view.byteLength; at += 8) sum += bytes.getBigUint64(at, true);
  return BigInt.asUintN(64, sum);
}

/** Views of any type, offset and length over patterned bytes, a SharedArrayBuffer's too. */
function oddViews(): ArrayBufferView[] {
  const buffer = new ArrayBuffer(3 * MIB + 13);
  new Uint8Array(buffer).forEach((_, i, a) => { a[i] = (i * 2654435761) >>> 24; });
  const shared = new SharedArrayBuffer(4096 + 24);
  new Uint32Array(shared).forEach((_, i, a) => { a[i] = i * 40503 + 7; });
  return [
    new Float32Array(buffer, 4, (3 * MIB) / 4),    // offset not a multiple of 8, nor thread shares whole lines
    new Uint16Array(buffer, 2 * MIB + 6, 1003),    // length not a whole number of words
    new Uint8Array(5),                             // no whole word
    new Int32Array(shared, 8, 1024),
  ];
}

describe('timeRead', () => {
  test('reads every whole word of views of any type, offset and length, shared buffers too', () => {
    const views = oddViews();
    for (const threads of [1, 2, 3]) {
      const r = native().timeRead(views, threads);
      expect(r.bytes).toBe(views.reduce((n, v) => n + Math.floor(v.byteLength / 8) * 8, 0));
      expect(r.checksum).toBe(BigInt.asUintN(64, views.reduce((s, v) => s + wordSum(v), 0n)));
      expect(Number.isFinite(r.seconds)).toBe(true);
      expect(r.seconds).toBeGreaterThan(0);
    }
  });

  test('rejects a detached array with ERR_GQA_BUFFER naming it', () => {
    const detached = new Float32Array(16);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expect(() => native().timeRead([new Float32Array(4), detached], 1)).toThrow(
      expect.objectContaining({ code: 'ERR_GQA_BUFFER', message: 'arrays[1]: the ArrayBuffer is detached' }),
    );
  });

  test.each([
    ['a non-array', [new Float32Array(4), 1], 'ERR_GQA_OPTION', /expected an array of typed arrays and a number/],
    ['a plain array entry', [[[1, 2]], 1], 'ERR_GQA_DTYPE', /arrays\[0\]: expected a TypedArray/],
    ['an ArrayBuffer entry', [[new Float32Array(2), new ArrayBuffer(8)], 1], 'ERR_GQA_DTYPE', /arrays\[1\]: expected a TypedArray/],
    ['no threads', [[new Float32Array(2)], 0], 'ERR_GQA_OPTION', /threads: expected an integer from 1 to 1024/],
    ['fractional threads', [[new Float32Array(2)], 1.5], 'ERR_GQA_OPTION', /threads: expected an integer from 1 to 1024/],
  ])('rejects %s', (_, args, code, message) => {
    const [arrays, threads] = args as [ArrayBufferView[], number];
    let error: unknown;
    try {
      native().timeRead(arrays, threads);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code, message: expect.stringMatching(message) });
  });
});

describe('streamRead', () => {
  test('reads every whole word of a view of any type, offset and length, shared buffers too, on any thread count', () => {
    const views = oddViews();
    for (const view of views) {
      for (const threads of [1, 2, 3, 7]) {
        const r = native().streamRead(view, threads);
        expect(r.bytes).toBe(Math.floor(view.byteLength / 8) * 8);
        expect(r.checksum).toBe(wordSum(view));
        expect(Number.isFinite(r.seconds)).toBe(true);
        expect(r.seconds).toBeGreaterThan(0);
      }
    }
  });

  test('rejects a detached array with ERR_GQA_BUFFER naming it', () => {
    const detached = new Float32Array(16);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expect(() => native().streamRead(detached, 1)).toThrow(
      expect.objectContaining({ code: 'ERR_GQA_BUFFER', message: 'array: the ArrayBuffer is detached' }),
    );
  });

  test.each([
    ['an array of typed arrays', [[new Float32Array(4)], 1], 'ERR_GQA_DTYPE', /array: expected a TypedArray/],
    ['an ArrayBuffer', [new ArrayBuffer(8), 1], 'ERR_GQA_DTYPE', /array: expected a TypedArray/],
    ['no threads', [new Float32Array(2), 0], 'ERR_GQA_OPTION', /threads: expected an integer from 1 to 1024/],
    ['too many threads', [new Float32Array(2), 1025], 'ERR_GQA_OPTION', /threads: expected an integer from 1 to 1024/],
    ['no thread count', [new Float32Array(2)], 'ERR_GQA_OPTION', /expected a typed array and a number/],
  ])('rejects %s', (_, args, code, message) => {
    let error: unknown;
    try {
      (native().streamRead as (...a: unknown[]) => unknown)(...args);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code, message: expect.stringMatching(message) });
  });
});
