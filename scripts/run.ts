#!/usr/bin/env node
// The main job in one command: grouped-query attention on random data of a given shape, timed, with a checksum.
//   npm run demo -- --batch 1 --sq 512 --skv 512 --hq 32 --hkv 8 --dim 128 --dtype bf16 --causal --backend cpu
import { parseArgs } from 'util';
import { DType, Tensor, attention, buildInfo } from '../lib';
import { generator, normals } from './parity/random';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '1' },
    sq: { type: 'string', default: '512' },
    skv: { type: 'string', default: '512' },
    hq: { type: 'string', default: '32' },
    hkv: { type: 'string', default: '8' },
    dim: { type: 'string', default: '128' },
    dtype: { type: 'string', default: 'f32' },
    causal: { type: 'boolean', default: false },
    backend: { type: 'string', default: 'cpu' },
    repeats: { type: 'string', default: '5' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('usage: npm run demo -- [--batch B] [--sq S] [--skv S] [--hq H] [--hkv H] [--dim D] [--dtype f32|bf16|f16] [--causal] [--backend cpu|reference|cuda|rocm] [--repeats N]');
  process.exit(0);
}
const [B, Sq, Skv, Hq, Hkv, D, repeats] = [values.batch, values.sq, values.skv, values.hq, values.hkv, values.dim, values.repeats].map(Number);
const dtype = values.dtype as DType;

// Standard normal inputs from a fixed seed, so the checksum is comparable across machines and backends.
const next = generator(20261123, 0);
const random = (n: number) => normals(n, next);

const q = Tensor.fromFloat32(random(B * Sq * Hq * D), dtype, [B, Sq, Hq, D]);
const k = Tensor.fromFloat32(random(B * Skv * Hkv * D), dtype, [B, Skv, Hkv, D]);
const v = Tensor.fromFloat32(random(B * Skv * Hkv * D), dtype, [B, Skv, Hkv, D]);
const options = { causal: values.causal, alignment: 'bottom-right' as const, backend: values.backend as 'cpu' };

const info = buildInfo();
console.log(`node-gqa: backend ${values.backend}, cpu simd ${info.cpuSimd}, gpu build ${info.gpu ?? 'none'}`);
console.log(`shape: B=${B} Sq=${Sq} Skv=${Skv} Hq=${Hq} Hkv=${Hkv} D=${D} ${dtype}${values.causal ? ' causal (bottom-right)' : ''}`);
let out = attention(q, k, v, options);  // warm-up
const times: number[] = [];
for (let r = 0; r < repeats; r++) {
  const t0 = process.hrtime.bigint();
  out = attention(q, k, v, { ...options, out });
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
times.sort((a, b) => a - b);
const values32 = out.toFloat32();
let sum = 0;
let sumAbs = 0;
for (const x of values32) { sum += x; sumAbs += Math.abs(x); }
console.log(`time: median ${times[times.length >> 1].toFixed(3)} ms over ${repeats} runs (min ${times[0].toFixed(3)} ms)`);
console.log(`checksum: sum ${sum.toFixed(6)}, sum|x| ${sumAbs.toFixed(6)}`);
