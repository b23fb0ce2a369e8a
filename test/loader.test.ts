// The loader's choice among installed binaries, tried on throw-away package roots holding copies of a real
// CPU-only binary, a broken "GPU variant" (a file that is no shared object) and nothing at all.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BackendUnavailableError, OptionError } from '../lib/errors';
import { LoadAttempt, RuntimeFacts, loadErrorMessage, possibleSolutions } from '../lib/load-error';
import { prebuildFolder, selectBinary } from '../lib/loader';
import { probeBinary } from '../lib/probe';
import { ROOT, ensureCpuPrebuild } from './helpers/prebuild';

/** A CPU-only binary built in this checkout: the CPU prebuild, else the local build if it is CPU-only, else the
 * CPU prebuild built now (a local build with CUDA or HIP is not CPU-only). */
function cpuOnlyBinary(): string {
  const candidates = [prebuildFolder(ROOT, 'cpu'), path.join(ROOT, 'build', 'Release')]
    .filter((dir) => fs.existsSync(dir))
    .flatMap((dir) => fs.readdirSync(dir).filter((name) => name.endsWith('.node')).map((name) => path.join(dir, name)));
  return candidates.find((file) => {
    const probe = probeBinary(file);
    return probe.loaded && probe.gpu === null;
  }) ?? ensureCpuPrebuild();
}

const cpuBinary = cpuOnlyBinary();

let roots: string[] = [];
afterEach(() => {
  roots.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true }));
  roots = [];
});

/** A package root holding the given files (path relative to the root -> source file, or text contents). */
function fakeRoot(files: Record<string, { copy: string } | { text: string }>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gqa-loader-'));
  roots.push(root);
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'node-gqa' }));
  for (const [rel, source] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    if ('copy' in source) fs.copyFileSync(source.copy, path.join(root, rel));
    else fs.writeFileSync(path.join(root, rel), source.text);
  }
  return root;
}

const tuple = `${process.platform}-${process.arch}`;
const cpuPrebuild = `prebuilds/${tuple}/node-gqa.glibc.node`;
const cudaPrebuild = `prebuilds/${tuple}-cuda/node-gqa.glibc.node`;
const broken = { text: 'not a shared object' };

describe('variant choice', () => {
  test('a GPU variant that fails its probe is passed over for the CPU prebuild, with a notice saying why', () => {
    const root = fakeRoot({ [cpuPrebuild]: { copy: cpuBinary }, [cudaPrebuild]: broken });
    const { binding, report } = selectBinary(root, { backend: 'auto' });
    expect(report.file).toBe(path.join(root, cpuPrebuild));
    expect(report.source).toBe('prebuild');
    expect(report.backend).toBe('cpu');
    expect(report.reason).toBe('no GPU variant is usable here');
    expect(report.probed).toEqual([
      expect.objectContaining({ file: path.join(root, cudaPrebuild), usable: false, reason: expect.stringMatching(/failed to load: .*(ELF|invalid|too short)/i) }),
    ]);
    expect(report.notice).toContain(`running on the CPU (${cpuPrebuild})`);
    expect(report.notice).toContain(cudaPrebuild);
    expect((binding as { buildInfo(): { gpu: unknown } }).buildInfo().gpu).toBeNull();
  });

  test('a CPU build placed in a GPU folder is recognised by its probe and not used as that GPU variant', () => {
    const root = fakeRoot({ [cpuPrebuild]: { copy: cpuBinary }, [cudaPrebuild]: { copy: cpuBinary } });
    const { report } = selectBinary(root, { backend: 'auto' });
    expect(report.file).toBe(path.join(root, cpuPrebuild));
    expect(report.probed[0]).toMatchObject({ variant: 'cuda', usable: false, reason: 'it is built for the CPU only, not cuda' });
  });

  test('a local build comes before the prebuild, as with node-gyp-build, and needs no notice', () => {
    const root = fakeRoot({ 'build/Release/node_gqa.node': { copy: cpuBinary }, [cpuPrebuild]: { copy: cpuBinary } });
    const { report } = selectBinary(root, { backend: 'auto' });
    expect(report.file).toBe(path.join(root, 'build/Release/node_gqa.node'));
    expect(report.source).toBe('build');
    expect(report.reason).toBe('no GPU variant is installed');
    expect(report.notice).toBeNull();
  });

  test("backend 'cpu' takes the CPU build without probing GPU variants, and without a notice", () => {
    const root = fakeRoot({ [cpuPrebuild]: { copy: cpuBinary }, [cudaPrebuild]: broken });
    const { report } = selectBinary(root, { backend: 'cpu' });
    expect(report.file).toBe(path.join(root, cpuPrebuild));
    expect(report.reason).toBe('the CPU backend was requested');
    expect(report.probed).toEqual([]);
    expect(report.notice).toBeNull();
  });

  test("backend 'cuda' fails with the probe's reason when the CUDA variant cannot run", () => {
    const root = fakeRoot({ [cpuPrebuild]: { copy: cpuBinary }, [cudaPrebuild]: broken });
    expect(() => selectBinary(root, { backend: 'cuda' })).toThrow(BackendUnavailableError);
    expect(() => selectBinary(root, { backend: 'cuda' })).toThrow(new RegExp(`backend 'cuda' was requested .*${cudaPrebuild}: it failed to load`));
  });

  test("backend 'rocm' fails naming the missing folder when no ROCm variant is installed", () => {
    const root = fakeRoot({ [cpuPrebuild]: { copy: cpuBinary } });
    expect(() => selectBinary(root, { backend: 'rocm' })).toThrow(/no rocm binary is installed \(.*prebuilds\/.*-rocm is missing/);
  });

  test('NODE_GQA_BACKEND is validated, and the message names it', () => {
    const root = fakeRoot({});
    process.env.NODE_GQA_BACKEND = 'tpu';
    try {
      expect(() => selectBinary(root)).toThrow(OptionError);
      expect(() => selectBinary(root)).toThrow("NODE_GQA_BACKEND: expected 'auto', 'cpu', 'cuda' or 'rocm', received 'tpu'");
    } finally {
      delete process.env.NODE_GQA_BACKEND;
    }
    expect(() => selectBinary(root, { backend: 'gpu' as never })).toThrow("backend: expected 'auto', 'cpu', 'cuda' or 'rocm', received 'gpu'");
  });

  test('with no binary at all, the error says so and lists the fixes', () => {
    const root = fakeRoot({});
    expect(() => selectBinary(root, { backend: 'auto' })).toThrow(/could not load the native addon[\s\S]*\(no binary found\)[\s\S]*Possible solutions:[\s\S]*No binary is installed[\s\S]*--build-from-source/);
  });

  test('a prebuild that does not load is listed with its error', () => {
    const root = fakeRoot({ [cpuPrebuild]: broken });
    let message = '';
    try {
      selectBinary(root, { backend: 'auto' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`- ${path.join(root, cpuPrebuild)}: `);
    expect(message).toMatch(/Possible solutions:\n {2}- /);
  });
});

describe('possible solutions', () => {
  const linux: RuntimeFacts = { platform: 'linux', arch: 'x64', node: '20.11.0', napi: 9, glibc: '2.36' };
  const attempt = (error: string): LoadAttempt[] => [{ file: '/pkg/prebuilds/linux-x64/node-gqa.glibc.node', error }];

  test('a glibc too old for the prebuild: the version needed, the version here, update or build', () => {
    const solutions = possibleSolutions(attempt("/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.99' not found"), { ...linux, glibc: '2.28' });
    expect(solutions[0]).toBe('The prebuilt binary needs glibc >= 2.99; this system has glibc 2.28: update the OS, or build from source.');
    expect(solutions[solutions.length - 1]).toMatch(/^Build from source: npm install node-gqa --build-from-source/);
  });

  test('an old libstdc++ is named', () => {
    const solutions = possibleSolutions(attempt("libstdc++.so.6: version `GLIBCXX_3.4.29' not found"), linux);
    expect(solutions[0]).toMatch(/needs libstdc\+\+ with GLIBCXX_3\.4\.29 \(GCC >= 11's runtime\)/);
  });

  test('a platform without prebuilds, musl, an old Node-API and --no-addons each get their fix', () => {
    expect(possibleSolutions([], { ...linux, arch: 'arm64' })).toContain(
      'There is no prebuilt binary for linux-arm64 (prebuilds: linux-x64 with glibc): build from source.');
    expect(possibleSolutions(attempt('Error loading shared library'), { ...linux, glibc: null })[0]).toMatch(/not glibc \(musl\?\)/);
    expect(possibleSolutions(attempt('x'), { ...linux, napi: 7 })[0]).toBe(
      'Use Node.js >= 18.17: node-gqa needs Node-API 8, Node.js 20.11.0 has Node-API 7.');
    expect(possibleSolutions(attempt('Error [ERR_DLOPEN_DISABLED]: Cannot load native addon'), linux)[0]).toMatch(/--no-addons/);
  });

  test('the message names the runtime, each binary tried, and ends with the README pointer', () => {
    const message = loadErrorMessage(attempt('boom'), linux);
    expect(message.split('\n')[0]).toBe('node-gqa: could not load the native addon on linux-x64, Node.js 20.11.0 (Node-API 9), glibc 2.36.');
    expect(message).toContain('  - /pkg/prebuilds/linux-x64/node-gqa.glibc.node: boom');
    expect(message.split('\n').pop()).toMatch(/Install section of node-gqa's README/);
  });
});

describe('init() and the notice', () => {
  test('prints the notice once on stderr, and not with quiet', () => {
    const root = fakeRoot({ [cpuPrebuild]: { copy: cpuBinary }, [cudaPrebuild]: broken });
    const run = (options: { quiet?: boolean }): string => {
      let written = '';
      const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
        written += String(chunk);
        return true;
      });
      process.env.NODE_GQA_PREBUILD = root;
      try {
        jest.isolateModules(() => {
          const loader = require('../lib/loader') as typeof import('../lib/loader');
          const report = loader.init(options);
          expect(loader.init()).toBe(report);
        });
      } finally {
        delete process.env.NODE_GQA_PREBUILD;
        spy.mockRestore();
      }
      return written;
    };
    expect(run({})).toMatch(/^node-gqa: running on the CPU \(.*\); passed over .*-cuda.*\n$/);
    expect(run({ quiet: true })).toBe('');
  });
});

// The GPU prebuilds npm run prebuild made here (CUDA where nvcc is found, ROCm where hipcc and libamdhip64 are).
const DRIVER_FILE = { cuda: '/proc/driver/nvidia/version', rocm: '/dev/kfd' } as const;
describe.each(['cuda', 'rocm'] as const)('the %s prebuild, where built', (variant) => {
  const folder = prebuildFolder(ROOT, variant);
  const file = fs.existsSync(folder) ? fs.readdirSync(folder).find((name) => name.endsWith('.node')) : undefined;
  const hasDriver = fs.existsSync(DRIVER_FILE[variant]);
  if (!file) console.warn(`${variant} prebuild tests skipped: no ${folder} (npm run prebuild builds it where the toolchain is found)`);
  const withPrebuild = file ? test : test.skip;
  const gpuPrebuild = `prebuilds/${tuple}-${variant}/node-gqa.glibc.node`;

  withPrebuild('its probe loads it in a child and reports its kind; without a driver it is not usable', () => {
    const probe = probeBinary(path.join(folder, file!));
    expect(probe).toMatchObject({ loaded: true, gpu: variant });
    if (!hasDriver) expect(probe.gpuUsable).toBe(false);
    expect(probe.reason.length).toBeGreaterThan(0);
  });

  withPrebuild('without a usable device the loader falls back to the CPU prebuild and the notice carries the reason', () => {
    const probe = probeBinary(path.join(folder, file!));
    const root = fakeRoot({ [cpuPrebuild]: { copy: cpuBinary }, [gpuPrebuild]: { copy: path.join(folder, file!) } });
    const { report } = selectBinary(root, { backend: 'auto' });
    if (probe.gpuUsable) {
      expect(report).toMatchObject({ backend: variant, variant, notice: null });
    } else {
      expect(report).toMatchObject({ backend: 'cpu', file: path.join(root, cpuPrebuild) });
      expect(report.notice).toContain(probe.reason);
      expect(() => selectBinary(root, { backend: variant })).toThrow(probe.reason);
    }
  });
});
