// The native self-test and benchmark (csrc/selftest), built here for the CPU only: every case of the fast backend
// against the float64 reference, and the benchmark, whose cases must run and report well-formed figures (no speed
// is asserted: benchmarks, not tests, judge speed). On a GPU machine the same executable checks the GPU kernels.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { mustRun, nativeCheck, run } from './helpers/native-checks';

const selftest = nativeCheck('gqa_selftest');

test('every case passes on the cpu backend against the float64 reference', () => {
  const out = mustRun(selftest(), ['--backend', 'cpu']);
  const lines = out.split('\n').filter((line) => /^(PASS|FAIL) /.test(line));
  expect(lines.length).toBeGreaterThan(40);
  expect(lines.filter((line) => !line.startsWith('PASS'))).toEqual([]);
  expect(out).toContain('all passed (0 failure(s))');
});

test('a GPU backend the build lacks exits with 3 and says why', () => {
  const result = run(selftest(), ['--backend', 'cuda']);
  expect(result.status).toBe(3);
  expect(result.stdout + result.stderr).toContain('cuda: unavailable: not built into this binary');
});

interface BenchResult {
  name: string;
  dtype: string;
  batch: number;
  seqlen_q: number;
  seqlen_kv: number;
  decode: boolean;
  ok: boolean;
  ms: number;
  read_ms: number;
  tflops: number;
  gbps: number;
}

test("the cpu benchmark runs npm run bench's cases, decode next to the time to read its K and V", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gqa-selftest-bench-'));
  try {
    const json = path.join(dir, 'bench.json');
    const out = mustRun(selftest(), ['--backend', 'cpu', '--filter', 'no case is named so', '--bench', '--threads', '2', '--json', json]);
    const reports: { backend: string; results: BenchResult[] }[] = JSON.parse(fs.readFileSync(json, 'utf8')).reports;
    expect(reports.map((r) => r.backend)).toEqual(['cpu']);
    const results = reports[0].results;
    expect(results.map((r) => [r.name, r.dtype, r.batch, r.seqlen_q, r.seqlen_kv, r.decode])).toEqual([
      ['prefill-b1-512-causal', 'f32', 1, 512, 512, false],
      ['decode-b1-2k', 'f32', 1, 1, 2048, true],
      ['prefill-b4-512-causal', 'f32', 4, 512, 512, false],
      ['decode-b4-2k', 'f32', 4, 1, 2048, true],
    ]);
    for (const r of results) {
      expect(r.ok).toBe(true);
      expect(r.ms).toBeGreaterThan(0);
      if (r.decode) {
        const kvBytes = 2 * 4 * r.batch * r.seqlen_kv * 8 * 128;  // K and V, f32, Hkv = 8, D = 128
        expect(r.gbps).toBeCloseTo(kvBytes / (r.ms * 1e6), 6);
        expect(r.read_ms).toBeGreaterThan(0);
        expect(out).toMatch(new RegExp(`${r.name} .* read [0-9.]+ ms, ours/read [0-9.]+`));
      } else {
        expect(r.tflops).toBeGreaterThan(0);
        expect(r.read_ms).toBe(0);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
