// Random malformed arguments at both layers: every call either succeeds or throws an ERR_GQA_* error, and no call
// writes outside the output buffer (guard regions around it stay intact). Each call starts from a valid request
// and mutates each field with some probability, so the fuzz reaches every check and, often, the backends.
import { GqaError, Tensor, attention } from '../lib';
import { native } from '../lib/native';
import { rng } from './helpers/random';

const GUARD = 16;

class Mutator {
  constructor(private readonly next: () => number, private readonly rate: number) {}
  pick<T>(items: readonly T[]): T {
    return items[Math.floor((this.next() + 1) / 2 * items.length) % items.length];
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor((this.next() + 1) / 2 * (hi - lo + 1)) % (hi - lo + 1);
  }
  /** `right`, or with probability `rate` one of the wrong values. */
  field<T>(right: T, wrong: () => readonly unknown[]): T {
    return (this.next() + 1) / 2 < this.rate ? (this.pick(wrong()) as T) : right;
  }
  chance(p: number): boolean {
    return (this.next() + 1) / 2 < p;
  }
}

function descriptor(m: Mutator, shape: number[], dtype: string) {
  const size = shape.reduce((a, b) => a * b, 1);
  const Array_ = dtype === 'f32' ? Float32Array : Uint16Array;
  const data = new Array_(Math.max(0, m.field(size, () => [size - 1, size >> 1, 0, size + 3])));
  data.fill(dtype === 'f32' ? 0.25 : 0x3e80);
  return {
    data: m.field<unknown>(data, () => [new Float64Array(size), new Uint8Array(size * 4), new Int32Array(size), {}, null, 'x']),
    dtype: m.field<unknown>(dtype, () => ['f32', 'bf16', 'f16', 'int4', 7, undefined]),
    shape: m.field<unknown>(shape, () => [shape.map((d) => m.pick([d + 1, d - 1, -1, 2.5, NaN, 2 ** 33, '3'])), shape.slice(1), [...shape, 1], 'shape']),
    strides: m.field<unknown>(undefined, () => [shape.map(() => m.int(0, 40)), [1, 2, 3], null, shape.map(() => -1)]),
  };
}

function options(m: Mutator, hq: number, hkv: number, batch: number) {
  const o: Record<string, unknown> = {};
  if (m.chance(0.4)) o.causal = m.field<unknown>(true, () => ['sideways', 1]);
  if (m.chance(0.3)) o.alignment = m.field<unknown>(m.pick(['top-left', 'bottom-right']), () => ['middle', 3]);
  if (m.chance(0.3)) o.headMap = m.field<unknown>(Int32Array.from({ length: hq }, () => m.int(0, hkv - 1)), () => [Int32Array.from({ length: hq }, () => m.int(-1, hkv)), new Int32Array(hq + 1), [0, 1], new Float32Array(hq)]);
  if (m.chance(0.3)) o.sinks = m.field<unknown>(new Float32Array(hq).fill(0.5), () => [new Float32Array(hq).fill(NaN), new Float32Array(hq + 1), [1, 2]]);
  if (m.chance(0.3)) o.scale = m.field<unknown>(0.3, () => [NaN, Infinity, 'one']);
  if (m.chance(0.3)) o.softcap = m.field<unknown>(5, () => [-1, NaN, Infinity]);
  if (m.chance(0.3)) o.window = m.field<unknown>([m.int(-1, 3), m.int(-1, 3)], () => [[-2, 0], [0.5, 1], [1]]);
  if (m.chance(0.2)) o.lse = m.field<unknown>(new Float32Array(4096), () => [new Float32Array(1), new Float64Array(8)]);
  if (m.chance(0.2)) o.pageTable = m.field<unknown>(undefined, () => [new Int32Array(batch), new Int32Array([5, -1]), new Int32Array(0)]);
  if (m.chance(0.2)) o.pagesPerSeq = m.field<unknown>(undefined, () => [1, -1, 1e12]);
  if (m.chance(0.2)) o.seqlensKv = m.field<unknown>(undefined, () => [new Int32Array(batch).fill(3), new Int32Array([1000])]);
  if (m.chance(0.2)) o.cuSeqlensQ = m.field<unknown>(undefined, () => [new Int32Array([0, 2]), new Int32Array([0, 9, 3]), new Int32Array(0)]);
  if (m.chance(0.2)) o.threads = m.field<unknown>(1, () => [-1, 1e9, 1.5]);
  if (m.chance(0.2)) o.backend = m.field<unknown>(m.pick(['cpu', 'reference']), () => ['gpu', 5]);
  return m.field<unknown>(o, () => [5, null, 'options']);
}

function guardedOutput(m: Mutator, size: number, dtype: string) {
  const length = Math.max(0, m.field(size, () => [size - 1, 1]));
  const backing = dtype === 'f32' ? new Float32Array(length + 2 * GUARD).fill(-12345) : new Uint16Array(length + 2 * GUARD).fill(0xbeef);
  const view = backing.subarray(GUARD, GUARD + length);
  const intact = () => backing.subarray(0, GUARD).every((x) => x === backing[0]) &&
    backing.subarray(GUARD + length).every((x) => x === backing[0]);
  return { view, intact };
}

function randomShapes(m: Mutator) {
  const [B, Sq, Skv, Hq, Hkv] = [m.int(1, 2), m.int(0, 5), m.int(0, 6), m.int(1, 4), m.int(1, 2)];
  const hkv = Hq % Hkv === 0 ? Hkv : 1;
  return { B, Sq, Skv, Hq, Hkv: hkv, D: m.field(m.pick([8, 16]), () => [12, 0, 1024]) };
}

// Runs a call that may fail with a typed error; returns whether it succeeded.
function runTyped(call: () => unknown): boolean {
  try {
    call();
    return true;
  } catch (e) {
    // Native errors come from Node's realm, not jest's: check the shape, not instanceof.
    expect(typeof (e as Error).message).toBe('string');
    expect(String((e as { code?: unknown }).code)).toMatch(/^ERR_GQA_/);
    return false;
  }
}

// One call of the binding, (q, k, v, out, options), from a valid request mutated at the mutator's rate.
function nativeCall(m: Mutator) {
  const { B, Sq, Skv, Hq, Hkv, D } = randomShapes(m);
  const dtype = m.pick(['f32', 'bf16', 'f16']);
  const outDtype = m.pick([dtype, 'f32']);
  const out = guardedOutput(m, B * Sq * Hq * D, outDtype);
  const args = [
    descriptor(m, [B, Sq, Hq, D], dtype), descriptor(m, [B, Skv, Hkv, D], dtype), descriptor(m, [B, Skv, Hkv, D], dtype),
    { data: out.view, dtype: outDtype, shape: [B, Sq, Hq, D], strides: m.field<unknown>(undefined, () => [[0, 0, 0, 0], [9, 9, 9, 9]]) },
    options(m, Hq, Hkv, B),
  ];
  return { args, intact: out.intact };
}

const RATES = [0, 0.03, 0.1, 0.3];

test('native layer: 3000 malformed calls, typed errors only, no stray writes', () => {
  const next = rng(2024);
  let succeeded = 0;
  for (let n = 0; n < 3000; n++) {
    const { args, intact } = nativeCall(new Mutator(next, RATES[n % 4]));
    if (runTyped(() => (native().attention as (...a: unknown[]) => void)(...args))) succeeded++;
    expect(intact()).toBe(true);
  }
  // The valid share reaches the backends, not only the first check.
  expect(succeeded).toBeGreaterThan(300);
});

test('native layer, async: 600 malformed calls, 8 at a time, typed rejections only, no stray writes', async () => {
  const next = rng(3033);
  let succeeded = 0;
  for (let n = 0; n < 600; n += 8) {
    const calls = Array.from({ length: 8 }, (_, i) => nativeCall(new Mutator(next, RATES[(n + i) % 4])));
    const settled = await Promise.allSettled(calls.map(({ args }) => (native().attentionAsync as (...a: unknown[]) => Promise<void>)(...args)));
    settled.forEach((r) => {
      if (r.status === 'fulfilled') succeeded++;
      else expect(String((r.reason as { code?: unknown }).code)).toMatch(/^ERR_GQA_/);
    });
    calls.forEach(({ intact }) => expect(intact()).toBe(true));
  }
  expect(succeeded).toBeGreaterThan(60);
});

test('TypeScript layer: 2000 malformed calls, typed errors only, no stray writes', () => {
  const next = rng(4048);
  let succeeded = 0;
  for (let n = 0; n < 2000; n++) {
    const m = new Mutator(next, [0, 0.03, 0.1, 0.3][n % 4]);
    const { B, Sq, Skv, Hq, Hkv, D } = randomShapes(m);
    const dtype = m.pick(['f32', 'bf16', 'f16'] as const);
    const out = guardedOutput(m, B * Sq * Hq * D, dtype);
    const tensor = (shape: number[]) => {
      const d = descriptor(m, shape, dtype);
      return () => new Tensor(d.data as never, d.dtype as never, d.shape as never, d.strides as never);
    };
    const [q, k, v] = [tensor([B, Sq, Hq, D]), tensor([B, Skv, Hkv, D]), tensor([B, Skv, Hkv, D])];
    const o = options(m, Hq, Hkv, B);
    try {
      attention(q(), k(), v(), typeof o === 'object' && o !== null ? { ...o, out: out.view } : o as never);
      succeeded++;
    } catch (e) {
      expect(e).toBeInstanceOf(GqaError);
    }
    expect(out.intact()).toBe(true);
  }
  expect(succeeded).toBeGreaterThan(200);
});
