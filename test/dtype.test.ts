// bf16 and f16 conversions, bit-exact over all 65,536 patterns against straightforward definitions.
import { bf16, f16 } from '../lib';

// Value of a pattern from its fields: (-1)^s * 2^(e - bias) * (1 + m / 2^mbits), subnormals and specials.
function decode(bits: number, ebits: number, mbits: number): number {
  const sign = bits >> (ebits + mbits) ? -1 : 1;
  const e = (bits >> mbits) & ((1 << ebits) - 1);
  const m = bits & ((1 << mbits) - 1);
  const bias = (1 << (ebits - 1)) - 1;
  if (e === (1 << ebits) - 1) return m ? NaN : sign * Infinity;
  if (e === 0) return sign * m * 2 ** (1 - bias - mbits);
  return sign * (1 + m / 2 ** mbits) * 2 ** (e - bias);
}

const formats = [
  { name: 'bf16', codec: bf16, ebits: 8, mbits: 7 },
  { name: 'f16', codec: f16, ebits: 5, mbits: 10 },
];

describe.each(formats)('$name', ({ codec, ebits, mbits }) => {
  const values = Array.from({ length: 65536 }, (_, b) => decode(b, ebits, mbits));
  const isNaNPattern = (b: number) => Number.isNaN(values[b]);

  test('toFloat decodes every pattern', () => {
    for (let b = 0; b < 65536; b++) {
      const got = codec.toFloat(b);
      if (isNaNPattern(b)) expect(got).toBeNaN();
      else expect(Object.is(got, values[b]) || (got === 0 && values[b] === 0 && Object.is(1 / got, 1 / values[b]))).toBe(true);
    }
    expect(codec.toFloat32(Uint16Array.from({ length: 65536 }, (_, b) => b)).filter(Number.isNaN).length)
      .toBe(values.filter(Number.isNaN).length);
  });

  test('fromFloat maps every value to its own pattern; NaN stays a quiet NaN of the same sign', () => {
    const quiet = 1 << (mbits - 1);
    for (let b = 0; b < 65536; b++) {
      if (isNaNPattern(b)) {
        const f32 = new Float32Array([NaN]);
        new Uint32Array(f32.buffer)[0] = (b & 0x8000 ? 0x80000000 : 0) | 0x7f800000 | ((b & ((1 << mbits) - 1)) << (23 - mbits));
        const r = codec.fromFloat(f32[0]);
        expect(isNaNPattern(r)).toBe(true);
        expect(r & 0x8000).toBe(b & 0x8000);
        expect(r & quiet).toBe(quiet);
      } else {
        expect(codec.fromFloat(values[b])).toBe(b);
      }
    }
  });

  test('fromFloat rounds to nearest, ties to even, between every pair of neighbours', () => {
    // For each pair of adjacent finite positive patterns: the midpoint goes to the even one, and values just
    // off the midpoint go to the nearer one. Midpoints are exact in f32 for both formats.
    const top = (((1 << ebits) - 1) << mbits) - 1;  // largest finite
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    for (let b = 0; b < top; b++) {
      for (const sign of [0, 0x8000]) {
        const lo = values[b | sign];
        const hi = values[(b + 1) | sign];
        f32[0] = (lo + hi) / 2;
        const even = b % 2 === 0 ? b : b + 1;
        expect(codec.fromFloat(f32[0])).toBe(even | sign);
        const mid = u32[0];
        u32[0] = mid - 1;  // one f32 ulp toward zero
        expect(codec.fromFloat(f32[0])).toBe(b | sign);
        u32[0] = mid + 1;  // one f32 ulp away from zero
        expect(codec.fromFloat(f32[0])).toBe((b + 1) | sign);
      }
    }
    // Past the largest finite value's half-ulp: infinity.
    const max = values[top];
    const ulp = max - values[top - 1];
    expect(codec.fromFloat(max + ulp / 2)).toBe(((1 << ebits) - 1) << mbits);
    expect(codec.fromFloat(-Infinity)).toBe(0x8000 | (((1 << ebits) - 1) << mbits));
  });
});
