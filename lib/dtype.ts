// Storage dtypes and their conversions. bf16 and f16 values are Uint16Arrays of bit patterns; conversions from f32
// round to nearest even and keep NaN (quiet) and infinities, bit for bit as the native core does (dtype.h).

export type DType = 'f32' | 'bf16' | 'f16';
export const DTYPES: readonly DType[] = ['f32', 'bf16', 'f16'];

export function dtypeSize(dtype: DType): number {
  return dtype === 'f32' ? 4 : 2;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function bf16FromBits(bits: number): number {
  u32[0] = bits << 16;
  return f32[0];
}

function bf16Round(x: number): number {
  f32[0] = x;
  const u = u32[0];
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

function f16FromBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0x1f) return man ? NaN : sign * Infinity;
  if (exp === 0) return sign * man * 2 ** -24;
  return sign * (1024 + man) * 2 ** (exp - 25);
}

function f16Round(x: number): number {
  f32[0] = x;
  const u = u32[0];
  const sign = (u >>> 16) & 0x8000;
  const a = u & 0x7fffffff;
  if (a > 0x7f800000) return sign | 0x7e00 | ((a >>> 13) & 0x3ff);
  if (a >= 0x477ff000) return sign | 0x7c00;
  if (a < 0x38800000) {
    // Subnormal result: round |x| / 2^-24 to an integer, ties to even (exact in float64).
    const scaled = Math.abs(f32[0]) * 2 ** 24;
    let r = Math.floor(scaled);
    const rest = scaled - r;
    if (rest > 0.5 || (rest === 0.5 && r & 1)) r += 1;
    return sign | r;
  }
  const r = a - 0x38000000;
  return sign | ((r + 0xfff + ((r >>> 13) & 1)) >>> 13);
}

interface HalfCodec {
  /** The nearest value's bit pattern (round to nearest even). */
  fromFloat(x: number): number;
  /** The value of a bit pattern. */
  toFloat(bits: number): number;
  /** Converts a whole array (into `out` when given). */
  fromFloat32(src: ArrayLike<number>, out?: Uint16Array): Uint16Array;
  toFloat32(src: Uint16Array, out?: Float32Array): Float32Array;
}

function codec(fromFloat: (x: number) => number, toFloat: (bits: number) => number): HalfCodec {
  return {
    fromFloat,
    toFloat,
    fromFloat32(src, out = new Uint16Array(src.length)) {
      for (let i = 0; i < src.length; i++) out[i] = fromFloat(src[i]);
      return out;
    },
    toFloat32(src, out = new Float32Array(src.length)) {
      for (let i = 0; i < src.length; i++) out[i] = toFloat(src[i]);
      return out;
    },
  };
}

/** bfloat16: 1 sign, 8 exponent, 7 mantissa bits. */
export const bf16: HalfCodec = codec(bf16Round, bf16FromBits);
/** IEEE 754 half precision: 1 sign, 5 exponent, 10 mantissa bits. */
export const f16: HalfCodec = codec(f16Round, f16FromBits);
