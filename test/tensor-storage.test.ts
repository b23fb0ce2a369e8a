/**
 * @jest-environment ./test/helpers/node-typed-arrays-environment.js
 */
// The storage Tensor allocates starts on a 64-byte boundary; the addon's alignmentOffset says where that is.
import { Tensor, bf16, f16 } from '../lib';
import { native } from '../lib/native';

const ALIGNMENTS = Array.from({ length: 13 }, (_, i) => 2 ** i);  // 1 .. 4096

/** The address of the view's first byte modulo 64, from where its buffer starts relative to a page. */
function addressMod64(view: ArrayBufferView): number {
  const bufferMod4096 = (4096 - native().alignmentOffset(view.buffer as ArrayBuffer, 4096)) % 4096;
  return (bufferMod4096 + view.byteOffset) % 64;
}

describe('alignmentOffset', () => {
  test('agrees with itself across every power of two: one address behind all the answers', () => {
    for (const bytes of [0, 1, 100, 4096, 1 << 20]) {
      const buffer = new ArrayBuffer(bytes);
      const page = native().alignmentOffset(buffer, 4096);
      expect(page).toBeGreaterThanOrEqual(0);
      expect(page).toBeLessThan(4096);
      for (const a of ALIGNMENTS) expect(native().alignmentOffset(buffer, a)).toBe(page % a);
    }
  });

  test.each([
    ['a non-power-of-two alignment', [new ArrayBuffer(8), 48], /alignment: expected a power of two from 1 to 4096/],
    ['an alignment past a page', [new ArrayBuffer(8), 8192], /alignment: expected a power of two from 1 to 4096/],
    ['a fractional alignment', [new ArrayBuffer(8), 0.5], /alignment: expected a power of two from 1 to 4096/],
    ['a typed array for the buffer', [new Float32Array(4), 64], /expected an ArrayBuffer and a number/],
    ['no alignment', [new ArrayBuffer(8)], /expected an ArrayBuffer and a number/],
  ])('rejects %s with ERR_GQA_OPTION', (_, args, message) => {
    const call = () => (native().alignmentOffset as (...a: unknown[]) => number)(...args);
    expect(call).toThrow(message);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_GQA_OPTION' }));
  });
});

describe('Tensor storage', () => {
  test.each(['f32', 'bf16', 'f16'] as const)('Tensor.zeros(%s) starts on a 64-byte boundary, all zeros', (dtype) => {
    for (const shape of [[1], [3, 5], [2, 33, 4, 64], [1, 2048, 8, 128]]) {
      const t = Tensor.zeros(dtype, shape);
      const n = shape.reduce((a, b) => a * b, 1);
      expect(t.data.length).toBe(n);
      expect(t.data.byteOffset + t.data.byteLength).toBeLessThanOrEqual(t.data.buffer.byteLength);
      expect(addressMod64(t.data)).toBe(0);
      expect((t.data as Float32Array | Uint16Array).every((x) => x === 0)).toBe(true);
    }
  });

  test.each(['bf16', 'f16'] as const)('Tensor.fromFloat32 converts into new %s storage on a 64-byte boundary', (dtype) => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3);
    const t = Tensor.fromFloat32(values, dtype, [10, 100]);
    expect(addressMod64(t.data)).toBe(0);
    expect(Array.from(t.data as Uint16Array)).toEqual(Array.from((dtype === 'bf16' ? bf16 : f16).fromFloat32(values)));
  });

  test('Tensor.fromFloat32 keeps f32 values as they are, the same array', () => {
    const values = new Float32Array(8).fill(2.5);
    expect(Tensor.fromFloat32(values, 'f32', [8]).data).toBe(values);
  });

  test('without the addon, storage is allocated all the same, where it falls', () => {
    jest.isolateModules(() => {
      jest.doMock('../lib/native', () => ({
        native: () => {
          throw new Error('no addon');
        },
      }));
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const { Tensor: Isolated } = require('../lib/tensor') as typeof import('../lib/tensor');
      const t = Isolated.zeros('f32', [4, 4]);
      expect(t.data.length).toBe(16);
      expect(t.data.byteOffset).toBe(0);
      expect((t.data as Float32Array).every((x) => x === 0)).toBe(true);
    });
  });
});
