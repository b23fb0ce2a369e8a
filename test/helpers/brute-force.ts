// An independent float64 attention in plain JS, written from the definition in DESIGN.md (Semantics), to check
// the native reference on small shapes. Inputs are read element by element through the Tensor's strides.
import { Tensor } from '../../lib';

export interface BruteOptions {
  scale?: number;
  causal?: boolean;
  alignment?: 'top-left' | 'bottom-right';
  window?: [number, number];
  softcap?: number;
  sinks?: Float32Array;
  headMap?: Int32Array;
  cuSeqlensQ?: Int32Array;
  cuSeqlensKv?: Int32Array;
}

/** Output as a Float64Array in BSHD (or [total, H, D]) order, and LSE as [B, Hq, Sq] (or [Hq, total]). */
export function bruteForceAttention(q: Tensor, k: Tensor, v: Tensor, o: BruteOptions = {}): { out: Float64Array; lse: Float64Array } {
  const varlen = o.cuSeqlensQ !== undefined;
  const Hq = q.shape[varlen ? 1 : 2];
  const D = q.shape[varlen ? 2 : 3];
  const Hkv = k.shape[varlen ? 1 : 2];
  const B = varlen ? o.cuSeqlensQ!.length - 1 : q.shape[0];
  const totalQ = varlen ? q.shape[0] : B * q.shape[1];
  const scale = o.scale ?? 1 / Math.sqrt(D);
  const out = new Float64Array(totalQ * Hq * D);
  const lse = new Float64Array(totalQ * Hq);
  for (let b = 0; b < B; b++) {
    const q0 = varlen ? o.cuSeqlensQ![b] : 0;
    const k0 = varlen ? o.cuSeqlensKv![b] : 0;
    const sq = varlen ? o.cuSeqlensQ![b + 1] - q0 : q.shape[1];
    const skv = varlen ? o.cuSeqlensKv![b + 1] - k0 : k.shape[1];
    const shift = o.alignment === 'bottom-right' ? skv - sq : 0;
    const [left, right] = o.window ?? [-1, -1];
    const rightBound = o.causal ? 0 : right;
    const qAt = (i: number, h: number, d: number) => (varlen ? q.get(q0 + i, h, d) : q.get(b, i, h, d));
    const kAt = (j: number, h: number, d: number) => (varlen ? k.get(k0 + j, h, d) : k.get(b, j, h, d));
    const vAt = (j: number, h: number, d: number) => (varlen ? v.get(k0 + j, h, d) : v.get(b, j, h, d));
    for (let h = 0; h < Hq; h++) {
      const kh = o.headMap ? o.headMap[h] : Math.floor(h / (Hq / Hkv));
      for (let i = 0; i < sq; i++) {
        const logits: number[] = [];
        const keys: number[] = [];
        for (let j = 0; j < skv; j++) {
          if (left >= 0 && j < i + shift - left) continue;
          if (rightBound >= 0 && j > i + shift + rightBound) continue;
          let s = 0;
          for (let d = 0; d < D; d++) s += qAt(i, h, d) * kAt(j, kh, d);
          s *= scale;
          if (o.softcap) s = o.softcap * Math.tanh(s / o.softcap);
          logits.push(s);
          keys.push(j);
        }
        const sink = o.sinks ? o.sinks[h] : -Infinity;
        const m = Math.max(sink, ...logits);
        const row = ((varlen ? q0 : b * sq) + i) * Hq + h;
        const lseIndex = varlen ? h * totalQ + q0 + i : (b * Hq + h) * sq + i;
        if (m === -Infinity) { lse[lseIndex] = -Infinity; continue; }
        let denom = Math.exp(sink - m);
        for (let n = 0; n < keys.length; n++) {
          const p = Math.exp(logits[n] - m);
          denom += p;
          for (let d = 0; d < D; d++) out[row * D + d] += p * vAt(keys[n], kh, d);
        }
        for (let d = 0; d < D; d++) out[row * D + d] /= denom;
        lse[lseIndex] = m + Math.log(denom);
      }
    }
  }
  return { out, lse };
}
