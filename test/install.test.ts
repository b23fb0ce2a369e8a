// Installs the packed tarball into empty projects as a user would: from the prebuild with no compiler on PATH,
// and from source with --build-from-source. Dependencies come from the npm cache (--prefer-offline).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Tensor } from '../lib';
import { bruteForceAttention } from './helpers/brute-force';
import { ROOT, ensureCpuPrebuild } from './helpers/prebuild';
import { randomFloat32, rng } from './helpers/random';

jest.setTimeout(300000);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'gqa-install-'));
let tarball = '';

/** A PATH with node, npm and sh only: no cmake, no compiler, no make. */
function toolchainFreePath(): string {
  const bin = path.join(work, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const npmCli = fs.realpathSync(spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim());
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync(npmCli, path.join(bin, 'npm'));
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  return bin;
}

/** The environment of a user's shell: none of the npm_* variables this test may be running under. */
function userEnv(PATH: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  return { ...env, PATH };
}

function npmInstall(project: string, env: NodeJS.ProcessEnv, ...flags: string[]) {
  fs.mkdirSync(project, { recursive: true });
  // allowScripts: npm versions that gate dependencies' install scripts run node-gqa's.
  const pkg = { name: 'user-project', version: '1.0.0', private: true, allowScripts: { 'node-gqa': true } };
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify(pkg));
  const args = ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', ...flags];
  return spawnSync('npm', args, { cwd: project, env, encoding: 'utf8' });
}

// Runs attention in the project on fixed inputs; returns the output and buildInfo() as the user sees them.
const USER_SCRIPT = `
const { Tensor, attention, buildInfo } = require('node-gqa');
const [q, k, v] = JSON.parse(process.argv[1]).map((t) => Tensor.f32(Float32Array.from(t.data), t.shape));
const out = attention(q, k, v, { causal: true });
console.log(JSON.stringify({ out: Array.from(out.data), info: buildInfo() }));
`;

const next = rng(7);
const inputs = [[1, 5, 4, 16], [1, 5, 2, 16], [1, 5, 2, 16]].map((shape) => ({
  shape, data: Array.from(randomFloat32(shape.reduce((a, b) => a * b), next)),
}));

function runAttention(project: string, env: NodeJS.ProcessEnv) {
  const run = spawnSync(process.execPath, ['-e', USER_SCRIPT, JSON.stringify(inputs)], { cwd: project, env, encoding: 'utf8' });
  // Nothing on stderr but, where the package carries a GPU variant this machine cannot use, the loader's notice.
  expect(run.stderr).toMatch(/^(node-gqa: running on the CPU \(.*\); passed over .*\n)?$/);
  expect(run.status).toBe(0);
  const { out, info } = JSON.parse(run.stdout) as { out: number[]; info: { binary: string; source: string; backend: string } };
  const [q, k, v] = inputs.map((t) => Tensor.f32(Float32Array.from(t.data), t.shape));
  const expected = bruteForceAttention(q, k, v, { causal: true }).out;
  expect(out).toHaveLength(expected.length);
  out.forEach((value, i) => expect(Math.abs(value - expected[i])).toBeLessThan(1e-5));
  return info;
}

beforeAll(() => {
  ensureCpuPrebuild();
  const pack = spawnSync('npm', ['pack', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' });
  expect(pack.status).toBe(0);
  tarball = path.join(work, fs.readdirSync(work).find((name) => name.endsWith('.tgz'))!);
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('with no compiler on PATH, the install uses the prebuild and attention runs from it', () => {
  const env = userEnv(toolchainFreePath());
  const project = path.join(work, 'prebuilt');
  const install = npmInstall(project, env);
  expect(install.status).toBe(0);
  expect(install.stdout).toMatch(/node-gqa: using prebuilds\/linux-x64\/node-gqa\.glibc\.node/);
  const installed = path.join(project, 'node_modules', 'node-gqa');
  expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);
  const info = runAttention(project, env);
  expect(info.source).toBe('prebuild');
  const variantFolder = info.backend === 'cpu' ? 'linux-x64' : `linux-x64-${info.backend}`;
  expect(info.binary).toBe(fs.realpathSync(path.join(installed, 'prebuilds', variantFolder, 'node-gqa.glibc.node')));
});

test('with no compiler on PATH, --build-from-source fails naming cmake and the C++ compiler', () => {
  const env = userEnv(path.join(work, 'bin'));
  const install = npmInstall(path.join(work, 'no-toolchain'), env, '--build-from-source');
  expect(install.status).not.toBe(0);
  expect(install.stdout + install.stderr).toMatch(/node-gqa: building from source: --build-from-source was given/);
  expect(install.stderr).toMatch(/cannot build from source: missing cmake \(>= 3\.18\), a C\+\+17 compiler \(g\+\+ or clang\+\+; or set CXX\)/);
});

test('--build-from-source builds with cmake-js and attention runs from the local build', () => {
  // The CPU build only: the CUDA kernels for every architecture take far longer than the install path under test.
  const env = { ...userEnv(process.env.PATH!), NODE_GQA_CMAKE_OPTIONS: 'GQA_CUDA=OFF GQA_HIP=OFF' };
  const project = path.join(work, 'from-source');
  const install = npmInstall(project, env, '--build-from-source');
  expect(install.stderr).not.toMatch(/cannot build from source/);
  expect(install.status).toBe(0);
  const built = path.join(project, 'node_modules', 'node-gqa', 'build', 'Release', 'node_gqa.node');
  expect(fs.existsSync(built)).toBe(true);
  const info = runAttention(project, env);
  expect(info.source).toBe('build');
  expect(info.binary).toBe(fs.realpathSync(built));
});
