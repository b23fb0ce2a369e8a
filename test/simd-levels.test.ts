// Every SIMD kernel of the cpu backend passes the parity check's full set, not only the one this machine picks by
// default: NODE_GQA_CPU_SIMD caps the level at load time, so each lower level runs in its own process.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildInfo } from '../lib';
import { Report } from '../scripts/parity/report';

const LEVELS = ['scalar', 'avx2', 'avx512', 'avx512bf16'];
const best = LEVELS.indexOf(buildInfo().cpuSimd);
const cli = path.join(__dirname, '..', 'dist', 'scripts', 'parity', 'cli.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gqa-simd-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.each(LEVELS)('cpu backend on %s', (level) => {
  const supported = best >= LEVELS.indexOf(level);
  if (!supported) console.log(`${level}: skipped, the best level of this CPU is ${buildInfo().cpuSimd}`);
  (supported ? test : test.skip)('passes the full parity set', () => {
    const file = path.join(tmp, `${level}.json`);
    execFileSync(process.execPath, [cli, '--backend', 'cpu', '--set', 'full', '--json', file], {
      env: { ...process.env, NODE_GQA_CPU_SIMD: level },
      stdio: 'ignore',
    });
    const report = JSON.parse(fs.readFileSync(file, 'utf8')) as Report;
    expect((report.environment.build as { cpuSimd?: string }).cpuSimd).toBe(level);
    expect(report.verdict).toBe('pass');
    expect(report.results.length).toBeGreaterThan(100);
    for (const r of report.results) expect(r.verdict).toBe('pass');
  }, 120_000);
});
