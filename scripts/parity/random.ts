// Fresh random inputs with a printed seed: each case's inputs come from (run seed, case name), so `--seed S` replays
// a whole run and `--seed S --filter NAME` replays one case with the same data. Standard normal q, k, v (as
// PyTorch's SDPA tests use), rounded to the case's dtype.
import { randomInt } from 'crypto';
import { DType, Tensor, bf16, f16 } from '../../lib';
import { ParityCase } from './cases';

/** A fresh 32-bit seed. */
export function freshSeed(): number {
  return randomInt(0, 2 ** 32 - 1);
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** sfc32 from a 32-bit seed (and a stream id): uniform [0, 1). */
export function generator(seed: number, stream: number): () => number {
  let a = seed >>> 0, b = stream >>> 0, c = 0x9e3779b9, d = 1;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) next();
  return next;
}

// Module-level bindings: inside a vm context (jest) every global lookup in a hot loop goes through the context's
// interceptors and costs ~30x.
const { sqrt, log, cos, sin, PI } = Math;

/** n standard normal values times `scale` (Box-Muller). */
export function normals(n: number, next: () => number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - next();
    const r = sqrt(-2 * log(u)) * scale;
    const t = 2 * PI * next();
    out[i] = r * cos(t);
    if (i + 1 < n) out[i + 1] = r * sin(t);
  }
  return out;
}

function toDtype(values: Float32Array, dtype: DType): Float32Array | Uint16Array {
  if (dtype === 'f32') return values;
  return (dtype === 'bf16' ? bf16 : f16).fromFloat32(values);
}

/** A [B, S, H, D] tensor: contiguous, or stored [B, H, S, D] and seen through strides. */
function tensor(values: Float32Array, dtype: DType, B: number, S: number, H: number, D: number, bhsd: boolean): Tensor {
  const data = toDtype(values, dtype);
  if (!bhsd) return new Tensor(data, dtype, [B, S, H, D]);
  return new Tensor(data, dtype, [B, H, S, D]).transpose(1, 2);
}

export interface CaseInputs {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  sinks?: Float32Array;
}

export function caseInputs(c: ParityCase, seed: number): CaseInputs {
  const next = generator(seed, fnv1a(c.name));
  const bhsd = c.layout === 'bhsd';
  const qk = c.qkScale ?? 1;
  const q = tensor(normals(c.B * c.Sq * c.Hq * c.D, next, qk), c.dtype, c.B, c.Sq, c.Hq, c.D, bhsd);
  const k = tensor(normals(c.B * c.Skv * c.Hkv * c.D, next, qk), c.dtype, c.B, c.Skv, c.Hkv, c.D, bhsd);
  const vValues = c.vOnes ? new Float32Array(c.B * c.Skv * c.Hkv * c.D).fill(1) : normals(c.B * c.Skv * c.Hkv * c.D, next);
  const v = tensor(vValues, c.dtype, c.B, c.Skv, c.Hkv, c.D, bhsd);
  const sinks = c.sinks ? normals(c.Hq, next) : undefined;
  return { q, k, v, sinks };
}
