// The case sets of the parity check: `smoke` (seconds on the CPU), `full` (a grid over dtypes, head layouts, masks
// and head dims, plus the extras and the mi300x set) and `mi300x-gqa-bf16` (the GQA bf16 shapes of the failure family
// reported as PyTorch issue "[ROCm] sdpa group query attention bf16 numeric error", at sizes a GPU takes; the CPU
// runs them scaled down, see scale.ts). Sizes here are the full sizes.
import { DType } from '../../lib';

export type Causal = false | 'top-left' | 'bottom-right';

export interface ParityCase {
  /** Unique within a set; also seeds the case's inputs (with the run's seed), so `--filter` replays the same data. */
  name: string;
  B: number;
  Sq: number;
  Skv: number;
  Hq: number;
  Hkv: number;
  D: number;
  dtype: DType;
  /** Output dtype when it differs from the inputs' (bf16 in, f32 out: lp_ref has no output rounding, so a rounding
   * of scores or P inside the kernel is no longer hidden under the output's). */
  outDtype?: DType;
  causal?: Causal;
  /** Sliding window [left, right] around the aligned diagonal; -1 is unbounded. */
  window?: [number, number];
  /** Alignment for a window without causal masking. */
  alignment?: 'top-left' | 'bottom-right';
  softcap?: number;
  /** Random per-head sink logits. */
  sinks?: boolean;
  /** 'bhsd': q, k, v stored [B, H, S, D] and passed as strided [B, S, H, D] views. */
  layout?: 'bshd' | 'bhsd';
  /** Multiplies q and k (large-magnitude inputs: exposes an inconsistent max subtraction). */
  qkScale?: number;
  /** V all ones: every row with an allowed key must give exactly 1. */
  vOnes?: boolean;
  /** What the case is for (shown by --list). */
  why?: string;
  /** Sized for a GPU: `--scale auto` runs it scaled down on the CPU (scale.ts). Other cases are CPU-sized already. */
  big?: boolean;
}

export const SET_NAMES = ['smoke', 'full', 'mi300x-gqa-bf16'] as const;
export type SetName = (typeof SET_NAMES)[number];

// Small shapes with at least one case for each fault class: lengths over two 128-key tiles that are not tile
// multiples, causal and windowed masks, GQA with Hkv > 1 and group > 1, large-magnitude scores, V all ones.
const SMOKE: ParityCase[] = [
  { name: 'mha-f32', B: 2, Sq: 33, Skv: 47, Hq: 4, Hkv: 4, D: 64, dtype: 'f32', why: 'plain MHA in f32' },
  { name: 'gqa4-bf16', B: 1, Sq: 45, Skv: 300, Hq: 8, Hkv: 2, D: 128, dtype: 'bf16', why: 'GQA 8/2, Skv not a tile multiple' },
  { name: 'gqa4-bf16-causal', B: 1, Sq: 77, Skv: 77, Hq: 8, Hkv: 2, D: 128, dtype: 'bf16', causal: 'top-left', why: 'causal diagonal' },
  { name: 'gqa3-f16-causal-br', B: 1, Sq: 21, Skv: 141, Hq: 6, Hkv: 2, D: 64, dtype: 'f16', causal: 'bottom-right', why: 'group 3, bottom-right with Sq < Skv' },
  { name: 'mqa-bf16-decode', B: 2, Sq: 1, Skv: 333, Hq: 8, Hkv: 1, D: 128, dtype: 'bf16', causal: 'bottom-right', why: 'MQA decode over a KV cache' },
  { name: 'gqa4-bf16-large', B: 1, Sq: 40, Skv: 273, Hq: 8, Hkv: 2, D: 64, dtype: 'bf16', qkScale: 30, why: 'q, k x30: max subtraction' },
  { name: 'gqa4-bf16-large-causal', B: 1, Sq: 70, Skv: 70, Hq: 4, Hkv: 1, D: 128, dtype: 'bf16', qkScale: 30, causal: 'top-left', why: 'q, k x30, causal' },
  { name: 'gqa2-bf16-vones-causal', B: 1, Sq: 50, Skv: 205, Hq: 4, Hkv: 2, D: 80, dtype: 'bf16', vOnes: true, causal: 'bottom-right', why: 'V all ones must give 1' },
  { name: 'gqa4-bf16-window', B: 1, Sq: 90, Skv: 90, Hq: 8, Hkv: 2, D: 64, dtype: 'bf16', causal: 'top-left', window: [16, 0], why: 'sliding window' },
  { name: 'gqa2-bf16-bhsd', B: 1, Sq: 40, Skv: 167, Hq: 4, Hkv: 2, D: 128, dtype: 'bf16', layout: 'bhsd', why: 'BHSD-strided inputs' },
  { name: 'gqa4-bf16-f32out', B: 1, Sq: 33, Skv: 270, Hq: 8, Hkv: 2, D: 128, dtype: 'bf16', outDtype: 'f32', causal: 'bottom-right', why: 'bf16 in, f32 out: P or score rounding shows' },
  { name: 'gqa2-bf16-masked-rows', B: 1, Sq: 20, Skv: 9, Hq: 4, Hkv: 2, D: 64, dtype: 'bf16', causal: 'bottom-right', why: 'rows with no allowed key: 0 and LSE -inf' },
];

// Llama-3-like 32/8 at D = 128 and the failure family's variations. Full sizes for GPUs.
const LLAMA = { B: 1, Hq: 32, Hkv: 8, D: 128, dtype: 'bf16' as DType, big: true };
const MI300X: ParityCase[] = [
  { name: 'llama3-gqa-s1024', ...LLAMA, Sq: 1024, Skv: 1024, why: 'Llama-3 GQA 32/8, D 128, non-causal' },
  { name: 'llama3-gqa-s1024-causal', ...LLAMA, Sq: 1024, Skv: 1024, causal: 'top-left', why: 'Llama-3 GQA 32/8, D 128, causal' },
  { name: 'llama3-gqa-b2-s512-causal', ...LLAMA, B: 2, Sq: 512, Skv: 512, causal: 'top-left', why: 'batch 2' },
  { name: 'mqa-s1024-causal', ...LLAMA, Hkv: 1, Sq: 1024, Skv: 1024, causal: 'top-left', why: 'MQA 32/1' },
  { name: 'group3-s587', ...LLAMA, Hq: 24, Hkv: 8, Sq: 587, Skv: 587, why: 'group size 3' },
  { name: 'group5-s587-causal', ...LLAMA, Hq: 20, Hkv: 4, Sq: 587, Skv: 587, causal: 'top-left', why: 'group size 5' },
  { name: 'group7-s587', ...LLAMA, Hq: 28, Hkv: 4, Sq: 587, Skv: 587, why: 'group size 7' },
  { name: 'len143', ...LLAMA, Sq: 143, Skv: 143, why: 'length not a tile multiple' },
  { name: 'len587-causal', ...LLAMA, Sq: 587, Skv: 587, causal: 'top-left', why: 'length not a tile multiple, causal' },
  { name: 'len1023', ...LLAMA, Sq: 1023, Skv: 1023, why: 'length one short of a tile multiple' },
  { name: 'len4097-causal', ...LLAMA, Sq: 4097, Skv: 4097, causal: 'top-left', why: 'length one past a tile multiple' },
  { name: 'decode-kv4097', ...LLAMA, B: 2, Sq: 1, Skv: 4097, causal: 'bottom-right', why: 'Sq = 1 decode over a long KV cache' },
  { name: 'decode-kv16383-mqa', ...LLAMA, Hkv: 1, Sq: 1, Skv: 16383, why: 'MQA decode over a longer KV cache' },
  { name: 'd64-s587-causal', ...LLAMA, D: 64, Sq: 587, Skv: 587, causal: 'top-left', why: 'head dim 64' },
  { name: 'd80-s587-causal', ...LLAMA, D: 80, Sq: 587, Skv: 587, causal: 'top-left', why: 'head dim 80' },
  { name: 'd128-s587-causal', ...LLAMA, D: 128, Sq: 587, Skv: 587, causal: 'top-left', why: 'head dim 128' },
  { name: 'd256-s587-causal', ...LLAMA, D: 256, Sq: 587, Skv: 587, causal: 'top-left', why: 'head dim 256' },
  { name: 'large-qk30-s1023', ...LLAMA, Sq: 1023, Skv: 1023, qkScale: 30, why: 'q, k x30: inconsistent max subtraction' },
  { name: 'large-qk30-s1023-causal', ...LLAMA, Sq: 1023, Skv: 1023, qkScale: 30, causal: 'top-left', why: 'q, k x30, causal' },
  { name: 'large-qk30-d64-s587', ...LLAMA, D: 64, Sq: 587, Skv: 587, qkScale: 30, why: 'q, k x30, D 64' },
  { name: 'causal-tl-sq143-skv1023', ...LLAMA, Sq: 143, Skv: 1023, causal: 'top-left', why: 'top-left alignment, Sq < Skv' },
  { name: 'causal-br-sq143-skv1023', ...LLAMA, Sq: 143, Skv: 1023, causal: 'bottom-right', why: 'bottom-right alignment, Sq < Skv' },
  { name: 'causal-tl-sq587-skv143', ...LLAMA, Sq: 587, Skv: 143, causal: 'top-left', why: 'top-left alignment, Sq > Skv' },
  { name: 'causal-br-sq587-skv143', ...LLAMA, Sq: 587, Skv: 143, causal: 'bottom-right', why: 'bottom-right, Sq > Skv: fully masked rows' },
  { name: 'window-256-s1023-causal', ...LLAMA, Sq: 1023, Skv: 1023, causal: 'top-left', window: [256, 0], why: 'sliding window (Mistral-like)' },
  { name: 'window-128-128-s587', ...LLAMA, Sq: 587, Skv: 587, window: [128, 128], why: 'symmetric local window' },
  { name: 'bhsd-s587-causal', ...LLAMA, Sq: 587, Skv: 587, causal: 'top-left', layout: 'bhsd', why: 'non-contiguous BHSD-strided inputs' },
  { name: 'llama3-gqa-s1023-f32out', ...LLAMA, Sq: 1023, Skv: 1023, outDtype: 'f32', why: 'bf16 in, f32 out: P/score rounding not hidden' },
  { name: 'llama3-gqa-s587-causal-f32out', ...LLAMA, Sq: 587, Skv: 587, causal: 'top-left', outDtype: 'f32', why: 'bf16 in, f32 out, causal' },
  { name: 'large-qk30-s587-f32out', ...LLAMA, Sq: 587, Skv: 587, qkScale: 30, outDtype: 'f32', why: 'q, k x30, f32 out' },
  { name: 'vones-s1023-causal', ...LLAMA, Sq: 1023, Skv: 1023, causal: 'top-left', vOnes: true, why: 'V all ones: exactly 1' },
  { name: 'vones-br-sq143-skv587', ...LLAMA, Sq: 143, Skv: 587, causal: 'bottom-right', vOnes: true, why: 'V all ones, bottom-right' },
  { name: 'vones-large-qk30-s587', ...LLAMA, Sq: 587, Skv: 587, qkScale: 30, vOnes: true, why: 'V all ones with large scores' },
];

// A grid over dtypes, head layouts, masks and head dims at moderate sizes, then the extras.
function grid(): ParityCase[] {
  const cases: ParityCase[] = [];
  const heads: [string, number, number][] = [['mha', 4, 4], ['gqa4', 8, 2], ['mqa', 4, 1], ['gqa3', 6, 2]];
  const masks: [string, Partial<ParityCase>, number, number][] = [
    ['dense', {}, 97, 211],
    ['causal', { causal: 'top-left' }, 150, 150],
    ['causal-br', { causal: 'bottom-right' }, 37, 259],
    ['window', { causal: 'top-left', window: [40, 0] }, 180, 180],
  ];
  for (const dtype of ['f32', 'bf16', 'f16'] as DType[]) {
    for (const [hname, Hq, Hkv] of heads) {
      for (const [mname, mask, Sq, Skv] of masks) {
        for (const D of [64, 128]) {
          cases.push({ name: `grid-${dtype}-${hname}-${mname}-d${D}`, B: 1, Sq, Skv, Hq, Hkv, D, dtype, ...mask });
        }
      }
    }
  }
  const extras: ParityCase[] = [
    { name: 'd8-bf16', B: 2, Sq: 31, Skv: 65, Hq: 4, Hkv: 2, D: 8, dtype: 'bf16', why: 'smallest head dim' },
    { name: 'd96-f16-causal', B: 1, Sq: 100, Skv: 100, Hq: 4, Hkv: 2, D: 96, dtype: 'f16', causal: 'top-left' },
    { name: 'd256-bf16', B: 1, Sq: 64, Skv: 200, Hq: 4, Hkv: 2, D: 256, dtype: 'bf16' },
    { name: 'd512-bf16', B: 1, Sq: 16, Skv: 130, Hq: 2, Hkv: 1, D: 512, dtype: 'bf16', why: 'head dim 512' },
    { name: 'softcap-bf16', B: 1, Sq: 64, Skv: 190, Hq: 8, Hkv: 2, D: 64, dtype: 'bf16', softcap: 30, qkScale: 4, why: 'logit softcap' },
    { name: 'sinks-bf16-causal', B: 1, Sq: 64, Skv: 190, Hq: 8, Hkv: 2, D: 64, dtype: 'bf16', sinks: true, causal: 'bottom-right', why: 'attention sinks' },
    { name: 'window-only-f16', B: 1, Sq: 120, Skv: 120, Hq: 4, Hkv: 2, D: 64, dtype: 'f16', window: [20, 20] },
    { name: 'masked-rows-f32', B: 2, Sq: 30, Skv: 11, Hq: 4, Hkv: 1, D: 64, dtype: 'f32', causal: 'bottom-right' },
    { name: 'bhsd-f16-causal-br', B: 2, Sq: 50, Skv: 150, Hq: 6, Hkv: 2, D: 64, dtype: 'f16', causal: 'bottom-right', layout: 'bhsd' },
    { name: 'vones-f16-window', B: 1, Sq: 100, Skv: 100, Hq: 4, Hkv: 2, D: 64, dtype: 'f16', vOnes: true, causal: 'top-left', window: [10, 0] },
    { name: 'vones-f32-large', B: 1, Sq: 60, Skv: 190, Hq: 4, Hkv: 1, D: 128, dtype: 'f32', vOnes: true, qkScale: 30 },
    { name: 'vones-decode-f32', B: 2, Sq: 1, Skv: 1531, Hq: 16, Hkv: 4, D: 128, dtype: 'f32', vOnes: true, causal: 'bottom-right', qkScale: 4, why: 'V all ones on a decode split over keys, all KV heads together' },
    { name: 'vones-decode-bf16-softcap', B: 1, Sq: 1, Skv: 777, Hq: 14, Hkv: 2, D: 64, dtype: 'bf16', vOnes: true, softcap: 20, qkScale: 4, why: 'V all ones, bf16 decode with softcap, 7 heads per group' },
    { name: 'large-f16-qk8', B: 1, Sq: 60, Skv: 190, Hq: 4, Hkv: 2, D: 128, dtype: 'f16', qkScale: 8 },
  ];
  return [...cases, ...extras];
}

export function caseSet(name: SetName): ParityCase[] {
  switch (name) {
    case 'smoke': return SMOKE;
    case 'mi300x-gqa-bf16': return MI300X;
    case 'full': return [...grid(), ...SMOKE.map((c) => ({ ...c, name: `smoke-${c.name}` })), ...MI300X];
  }
}

export function isSetName(s: string): s is SetName {
  return (SET_NAMES as readonly string[]).includes(s);
}

/** Multiply-adds of one attention call (Q K^T and P V), counting only allowed keys roughly (causal halves). */
export function caseFlops(c: ParityCase): number {
  const dense = 4 * c.B * c.Hq * c.Sq * c.Skv * c.D;
  return c.causal ? dense / 2 : dense;
}
