// The parity check has teeth: the CLI passes the clean cpu backend and fails it with each injected fault (the
// known causes of the ROCm GQA bf16 failure family), on the smoke set and on the matching mi300x-gqa-bf16 cases
// (scaled down on the CPU). Fresh random seeds each run, as in CI: a fault must be caught whatever the data.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../scripts/parity/cli';
import { FAULTS } from '../scripts/parity/args';
import { Report } from '../scripts/parity/report';

interface Run { code: number; out: string; err: string }

async function cli(...argv: string[]): Promise<Run> {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gqa-parity-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function report(file: string): Report {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Report;
}

test('clean cpu backend passes the smoke set; the report is complete', async () => {
  const file = path.join(tmp, 'smoke.json');
  const r = await cli('--set', 'smoke', '--backend', 'cpu', '--json', file);
  expect(r.err).toMatch(/seed \d+ \(replay with --seed \d+\)/);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/case\s+backend\s+dtype/);
  const rep = report(file);
  expect(rep.schema).toBe('node-gqa-parity-report');
  expect(rep.schemaVersion).toBe(1);
  expect(rep.verdict).toBe('pass');
  expect(rep.environment.build).toHaveProperty('cpuSimd');
  expect(rep.results.length).toBeGreaterThan(5);
  for (const x of rep.results) {
    expect(x.verdict).toBe('pass');
    expect(x.deterministic).toBe(true);
    expect(x.out!.maxErr).toBeLessThanOrEqual(x.out!.maxTol);
    expect(x.lse!.meanErr).toBeLessThanOrEqual(x.lse!.meanTol);
  }
});

test('clean cpu backend passes the mi300x-gqa-bf16 set (scaled down)', async () => {
  const r = await cli('--set', 'mi300x-gqa-bf16', '--backend', 'cpu', '--quiet');
  expect(r.code).toBe(0);
});

test('a seed replays the same figures', async () => {
  const a = path.join(tmp, 'a.json'), b = path.join(tmp, 'b.json');
  expect((await cli('--seed', '12345', '--backend', 'cpu', '--filter', 'gqa4', '--quiet', '--json', a)).code).toBe(0);
  expect((await cli('--seed', '12345', '--backend', 'cpu', '--filter', 'gqa4-bf16-causal', '--quiet', '--json', b)).code).toBe(0);
  const x = report(a).results.find((r) => r.case === 'gqa4-bf16-causal')!;
  const y = report(b).results[0];
  expect(y.out!.maxErr).toBe(x.out!.maxErr);
  expect(y.out!.lpRefMeanErr).toBe(x.out!.lpRefMeanErr);
});

// For each fault: the mi300x cases that expose it (a failure there is the point), and which smoke cases must fail.
const EXPOSES: Record<(typeof FAULTS)[number], { filter: string; smoke: RegExp }> = {
  'scores-bf16': { filter: 'large|f32out', smoke: /large|f32out/ },
  'p-bf16': { filter: 'f32out', smoke: /f32/ },
  'p-round-toward-zero': { filter: 'vones|f32out', smoke: /vones|f32/ },
  'head-map-modulo': { filter: '^group', smoke: /gqa/ },
  'causal-off-by-one': { filter: '^causal-', smoke: /causal|window|masked/ },
  'drop-last-kv-tile': { filter: '^len|decode', smoke: /gqa4-bf16$|decode|f32out/ },
  'max-before-fma': { filter: 'large', smoke: /large/ },
};

describe.each(FAULTS.map((f) => [f]))('injected fault %s', (fault) => {
  test('fails the smoke set, on the cases that expose it', async () => {
    const file = path.join(tmp, `smoke-${fault}.json`);
    const r = await cli('--set', 'smoke', '--backend', 'cpu', '--inject', fault, '--quiet', '--json', file);
    expect(r.code).toBe(1);
    const failed = report(file).results.filter((x) => x.verdict !== 'pass');
    expect(failed.every((x) => x.inject === fault)).toBe(true);
    expect(failed.some((x) => EXPOSES[fault].smoke.test(x.case))).toBe(true);
  });

  test('fails the mi300x-gqa-bf16 cases of its kind', async () => {
    const r = await cli('--set', 'mi300x-gqa-bf16', '--backend', 'cpu', '--inject', fault, '--filter', EXPOSES[fault].filter, '--quiet');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAIL/);
  });
});

test('usage errors exit with 2', async () => {
  expect((await cli('--set', 'nope')).code).toBe(2);
  expect((await cli('--inject', 'nope')).code).toBe(2);
  expect((await cli('--backend', 'tpu')).code).toBe(2);
  expect((await cli('--seed', '-1')).code).toBe(2);
  expect((await cli('--scale', '0.5')).code).toBe(2);
  expect((await cli('--filter', 'no-such-case')).code).toBe(2);
  expect((await cli('--bogus')).code).toBe(2);
  expect((await cli('--backend', 'cuda', '--inject', 'p-bf16')).code).toBe(2);
  expect((await cli('compare', 'only-one.json')).code).toBe(2);
  expect((await cli('compare', path.join(tmp, 'missing.json'), path.join(tmp, 'missing.json'))).code).toBe(2);
});

test('a GPU backend that cannot run here is a usage error naming why', async () => {
  const { backends } = await import('../lib');
  const missing = backends().find((b) => !b.available);
  if (!missing) return;  // every backend runs on this machine
  const r = await cli('--backend', missing.name);
  expect(r.code).toBe(2);
  expect(r.err).toMatch(new RegExp(`no usable ${missing.name} backend`));
});

test('compare lines reports up and flags errors that differ beyond tolerance', async () => {
  const a = path.join(tmp, 'cmp-a.json'), b = path.join(tmp, 'cmp-b.json'), c = path.join(tmp, 'cmp-c.json');
  expect((await cli('--seed', '7', '--backend', 'cpu', '--quiet', '--json', a)).code).toBe(0);
  expect((await cli('--seed', '8', '--backend', 'cpu', '--quiet', '--json', b)).code).toBe(0);
  const same = await cli('compare', a, b);
  expect(same.code).toBe(0);
  expect(same.out).toMatch(/cases agree/);

  // A second machine whose errors on one case are far larger (as an MI300X run with the bug would be).
  const bad = report(b);
  bad.results[1].out!.maxErr = bad.results[1].out!.maxTol * 10;
  bad.results[1].verdict = 'fail';
  fs.writeFileSync(c, JSON.stringify(bad));
  const diff = await cli('compare', a, c);
  expect(diff.code).toBe(1);
  expect(diff.out).toMatch(new RegExp(`${bad.results[1].case}.*DIFFERS`));
  expect(diff.out).toMatch(/max error differs by/);
});

test('list shows GPU and CPU sizes', async () => {
  const r = await cli('list', '--set', 'mi300x-gqa-bf16');
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/len4097-causal\s+bf16\s+1x4097x4097 32\/8 d128/);
});
