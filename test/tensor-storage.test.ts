/**
 * @jest-environment ./test/helpers/node-typed-arrays-environment.js
 */
// The storage Tensor allocates starts on a 64-byte boundary, and storage of 2 MiB or more on a 2 MiB boundary with
// transparent huge pages asked for; the addon's alignmentOffset and placeOnHugePages say where those are.
import * as fs from 'fs';
import { Tensor, bf16, f16 } from '../lib';
import { native } from '../lib/native';

const MIB = 1 << 20;

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

describe('huge pages', () => {
  // The first 2 MiB boundary of the view's buffer, as the addon finds it (asking again changes nothing).
  const firstHugePageBoundary = (view: ArrayBufferView) => native().placeOnHugePages(view.buffer as ArrayBuffer, view.byteLength);

  test.each([
    ['f32', [1, 2048, 8, 128]],  // 8 MiB: a decode case's K
    ['f32', [2 * MIB / 4]],      // exactly one huge page
    ['bf16', [3, 1000, 8, 64]],  // 2.9 MiB: not a whole number of huge pages
    ['f16', [1, 2048, 8, 128]],
  ] as const)('Tensor.zeros(%s, %j) starts on a 2 MiB boundary, all zeros, inside its buffer', (dtype, shape) => {
    const t = Tensor.zeros(dtype, shape);
    const n = shape.reduce((a, b) => a * b, 1);
    expect(t.data.length).toBe(n);
    expect(t.data.byteOffset).toBe(firstHugePageBoundary(t.data));
    expect(t.data.byteOffset + t.data.byteLength).toBeLessThanOrEqual(t.data.buffer.byteLength);
    expect((t.data as Float32Array | Uint16Array).every((x) => x === 0)).toBe(true);
  });

  test('storage under 2 MiB stays on 64 bytes, in a buffer no larger than it needs', () => {
    const t = Tensor.zeros('f32', [2 * MIB / 4 - 1]);
    expect(addressMod64(t.data)).toBe(0);
    expect(t.data.buffer.byteLength).toBeLessThan(2 * MIB + 64);
  });

  test('placeOnHugePages keeps what a buffer holds: written words, written zeros and pages never touched', () => {
    for (const written of ['words', 'zeros'] as const) {
      const buffer = new ArrayBuffer(7 * MIB);
      const words = new Uint32Array(buffer);
      // In every huge page the call may cover: pages written (with words, or with zeros only) and pages untouched.
      for (let i = 0; i < words.length; i += 1024) {
        if ((i >> 10) % 3 !== 2) words[i] = written === 'words' && (i >> 10) % 3 === 0 ? ((i * 2654435761) >>> 0) | 1 : 0;
      }
      const before = Uint32Array.from(words);
      const offset = native().placeOnHugePages(buffer, 4 * MIB);
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(2 * MIB);
      expect(Buffer.from(buffer).equals(Buffer.from(before.buffer))).toBe(true);
    }
  });

  test.each([
    ['bytes past the buffer', [new ArrayBuffer(3 * MIB), 3 * MIB + 1], 'ERR_GQA_BUFFER', /do not fit after its first 2 MiB boundary/],
    ['a detached buffer', [detached(), 8], 'ERR_GQA_BUFFER', /do not fit after its first 2 MiB boundary/],
    ['negative bytes', [new ArrayBuffer(8), -1], 'ERR_GQA_OPTION', /bytes: expected an integer byte count/],
    ['fractional bytes', [new ArrayBuffer(8), 0.5], 'ERR_GQA_OPTION', /bytes: expected an integer byte count/],
    ['a typed array for the buffer', [new Uint8Array(8), 0], 'ERR_GQA_OPTION', /expected an ArrayBuffer and a number/],
    ['no bytes', [new ArrayBuffer(8)], 'ERR_GQA_OPTION', /expected an ArrayBuffer and a number/],
  ])('placeOnHugePages rejects %s', (_, args, code, message) => {
    const call = () => (native().placeOnHugePages as (...a: unknown[]) => number)(...args);
    expect(call).toThrow(message);
    expect(call).toThrow(expect.objectContaining({ code }));
  });

  test('written storage lies on huge pages where the system has transparent huge pages', () => {
    const setting = process.platform === 'linux' && fs.existsSync(THP_SETTING) ? fs.readFileSync(THP_SETTING, 'utf8') : '';
    if (!/\[(always|madvise)\]/.test(setting)) {
      console.log(`skipped: ${expect.getState().currentTestName}: transparent huge pages are ${setting.trim() || 'not offered here'}`);
      return;
    }
    const before = anonHugePageBytes();
    const t = Tensor.zeros('f32', [64 * MIB / 4]);
    (t.data as Float32Array).fill(1);
    // Most of its 32 huge pages: the kernel may find too little contiguous memory for some.
    expect(anonHugePageBytes() - before).toBeGreaterThanOrEqual(32 * MIB);
    expect((t.data as Float32Array).every((x) => x === 1)).toBe(true);
  });

  test('a binary without placeOnHugePages places large storage on 64 bytes', () => {
    jest.isolateModules(() => {
      jest.doMock('../lib/native', () => ({
        native: () => ({ alignmentOffset: (b: ArrayBuffer, a: number) => native().alignmentOffset(b, a) }),
      }));
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const { Tensor: Isolated } = require('../lib/tensor') as typeof import('../lib/tensor');
      const t = Isolated.zeros('f32', [1, 2048, 8, 128]);
      expect(addressMod64(t.data)).toBe(0);
      expect(t.data.buffer.byteLength).toBe(8 * MIB + 64);
    });
  });
});

const THP_SETTING = '/sys/kernel/mm/transparent_hugepage/enabled';

function detached(): ArrayBuffer {
  const buffer = new ArrayBuffer(4 * MIB);
  structuredClone(buffer, { transfer: [buffer] });
  return buffer;
}

function anonHugePageBytes(): number {
  const match = /AnonHugePages:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/smaps_rollup', 'utf8'));
  if (!match) throw new Error('/proc/self/smaps_rollup has no AnonHugePages line');
  return Number(match[1]) * 1024;
}
