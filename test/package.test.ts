// What the published package holds (npm pack), and what its binaries need from the system, checked against the
// requirements lib/compat.ts states and the README's Install table repeats.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as compat from '../lib/compat';
import { ROOT, ensureCpuPrebuild } from './helpers/prebuild';

jest.setTimeout(180000);

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const bins = Object.values(pkg.bin ?? {}) as string[];

// Paths a user needs: compiled JS and types, the CLIs package.json names in `bin` (with the modules beside them),
// prebuilds, what building from source needs, README, LICENSE.
const ALLOWED = [
  ...bins.map((bin) => new RegExp(`^${path.dirname(bin).replace(/[.]/g, '\\.')}/[\\w-]+\\.js$`)),
  /^dist\/lib\/[\w-]+\.(js|d\.ts)$/,
  /^prebuilds\/[\w]+-[\w]+(-cuda|-rocm)?\/[\w.-]+\.node$/,
  /^csrc\/[\w/.-]+\.(h|cpp|cu|cuh|txt)$/,
  /^CMakeLists\.txt$/,
  /^scripts\/(install|build-from-source|binary-info|variants)\.js$/,
  /^(package\.json|README\.md|LICENSE)$/,
];

describe('npm pack', () => {
  let files: string[] = [];
  beforeAll(() => {
    ensureCpuPrebuild();
    const pack = spawnSync('npm', ['pack', '--dry-run', '--json'], { cwd: ROOT, encoding: 'utf8' });
    expect(pack.status).toBe(0);
    // prepare (tsc) may print before the JSON report.
    const report = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[\n'))) as { files: { path: string }[] }[];
    files = report[0].files.map((file) => file.path);
  });

  test('lists only what a user needs', () => {
    expect(files.filter((file) => !ALLOWED.some((pattern) => pattern.test(file)))).toEqual([]);
  });

  test('has the entry point, the types, the CPU prebuild, the build sources and the legal files', () => {
    const required = ['package.json', 'README.md', 'LICENSE', 'CMakeLists.txt', 'dist/lib/index.js', 'dist/lib/index.d.ts',
      'dist/lib/loader.js', 'scripts/install.js', 'csrc/napi/addon.cpp',
      `prebuilds/${process.platform}-${process.arch}/node-gqa.glibc.node`, ...bins];
    expect(required.filter((file) => !files.includes(file))).toEqual([]);
  });

  test('ships every file the install script requires, and every source CMake builds', () => {
    const shippedScripts = files.filter((file) => file.startsWith('scripts/'));
    const required = shippedScripts.flatMap((file) => [...fs.readFileSync(path.join(ROOT, file), 'utf8').matchAll(/require\('\.\/([\w-]+)'\)/g)]
      .map((match) => `scripts/${match[1]}.js`));
    expect(required.filter((file) => !files.includes(file))).toEqual([]);
    const cmakeFiles = files.filter((file) => file.endsWith('CMakeLists.txt'));
    const sources = cmakeFiles.flatMap((file) => {
      const dir = path.dirname(file) === '.' ? '' : `${path.dirname(file)}/`;
      return [...fs.readFileSync(path.join(ROOT, file), 'utf8').matchAll(/^\s+((?:csrc\/)?[\w/.-]+\.(?:cpp|cu))\s*$/gm)]
        .map((match) => path.normalize(match[1].startsWith('csrc/') ? match[1] : `${dir}${match[1]}`));
    });
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.filter((file) => !files.includes(file))).toEqual([]);
  });

  test('package.json declares what lib/compat.ts states', () => {
    expect(pkg.engines.node).toBe(`>=${compat.MIN_NODE}`);
    expect(pkg.binary.napi_versions).toEqual([compat.NAPI_VERSION]);
    expect(pkg.license).toBe('MIT');
    expect(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} node-gqa contributors/);
  });
});

/** The newest version of each versioned symbol family (GLIBC, GLIBCXX) a binary imports, read with objdump -T. */
function newestImports(file: string): Record<string, string> {
  const dump = spawnSync('objdump', ['-T', file], { encoding: 'utf8' });
  expect(dump.status).toBe(0);
  const newest: Record<string, string> = {};
  for (const [, family, version] of dump.stdout.matchAll(/\*UND\*\s+\S+\s+(?:\(|\s)(GLIBC|GLIBCXX|CXXABI)_(\d+(?:\.\d+)*)/g)) {
    if (!newest[family] || compat.compareVersions(version, newest[family]) > 0) newest[family] = version;
  }
  return newest;
}

describe('binary compatibility', () => {
  const prebuildsDir = path.join(ROOT, 'prebuilds');
  const prebuilds = (): string[] => fs.readdirSync(prebuildsDir)
    .flatMap((dir) => fs.readdirSync(path.join(prebuildsDir, dir)).map((file) => path.join(prebuildsDir, dir, file)))
    .filter((file) => file.endsWith('.node'));

  beforeAll(() => ensureCpuPrebuild());

  test('no prebuild imports a glibc or libstdc++ symbol newer than the documented minimum', () => {
    const found = prebuilds().map((file): { file: string; GLIBC?: string; GLIBCXX?: string } => ({ file: path.relative(ROOT, file), ...newestImports(file) }));
    console.log(`symbol versions imported: ${JSON.stringify(found)}`);
    for (const binary of found) {
      const variant = /-(cuda|rocm)\//.exec(binary.file)?.[1] as 'cuda' | 'rocm' | undefined ?? 'cpu';
      const documented = compat.MIN_GLIBC_BY_VARIANT[variant];
      expect({ file: binary.file, glibcNewerThanDocumented: compat.compareVersions(binary.GLIBC ?? '0', documented) > 0 })
        .toEqual({ file: binary.file, glibcNewerThanDocumented: false });
      if (binary.GLIBCXX) {
        expect({ file: binary.file, glibcxxNewerThanDocumented: compat.compareVersions(binary.GLIBCXX, compat.MIN_GLIBCXX) > 0 })
          .toEqual({ file: binary.file, glibcxxNewerThanDocumented: false });
      }
    }
    // The documented minimum is what the CPU prebuild needs, not a loose bound.
    const cpu = found.find((binary) => binary.file.startsWith(`prebuilds/${process.platform}-${process.arch}/`))!;
    expect(cpu.GLIBC).toBe(compat.MIN_GLIBC);
  });

  test('prebuilds are stripped Node-API binaries built for the documented Node-API version', () => {
    for (const file of prebuilds()) {
      const kind = spawnSync('file', ['-L', file], { encoding: 'utf8' }).stdout;
      expect(kind).toMatch(/ELF 64-bit .* shared object.*, stripped/);
      const info = spawnSync(process.execPath, ['-p', 'JSON.stringify(require(process.argv[1]).buildInfo())', file], { encoding: 'utf8' });
      expect(info.status).toBe(0);
      expect(JSON.parse(info.stdout).napiVersion).toBe(compat.NAPI_VERSION);
    }
  });

  test('the CUDA variant, where built, carries its kernels and links the CUDA runtime statically (only the driver is needed)', () => {
    const cuda = prebuilds().filter((file) => file.includes('-cuda'));
    if (!cuda.length) console.log('no CUDA prebuild in prebuilds/ (npm run prebuild builds it where nvcc is found): nothing to check');
    for (const file of cuda) {
      expect(spawnSync('objdump', ['-p', file], { encoding: 'utf8' }).stdout).not.toMatch(/NEEDED\s+libcudart/);
      expect(spawnSync('objdump', ['-h', file], { encoding: 'utf8' }).stdout).toContain('.nv_fatbin');
    }
  });

  test("the README's Install table states the same requirements, row by row", () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const row = (label: string): string => readme.split('\n').find((line) => line.startsWith(`| ${label} `)) ?? `(no row ${label})`;
    const expected: [string, string][] = [
      [row('CPU'), `glibc ≥ ${compat.MIN_GLIBC_BY_VARIANT.cpu}`], [row('CPU'), `GLIBCXX_${compat.MIN_GLIBCXX}`],
      [row('CPU'), `GCC ≥ ${compat.MIN_LIBSTDCXX_GCC}`],
      [row('CUDA variant'), `glibc ≥ ${compat.MIN_GLIBC_BY_VARIANT.cuda}`], [row('CUDA variant'), `driver ≥ ${compat.MIN_CUDA_DRIVER}`],
      [row('CUDA variant'), `CUDA ${compat.CUDA_TOOLKIT}`],
      [row('ROCm variant'), `glibc ≥ ${compat.MIN_GLIBC_BY_VARIANT.rocm}`], [row('ROCm variant'), `ROCm ${compat.ROCM_VERSION}`],
      [row('Node.js'), `Node.js ≥ ${compat.MIN_NODE}`], [row('Node.js'), `Node-API ${compat.NAPI_VERSION}`],
    ];
    for (const [line, phrase] of expected) expect({ line, hasPhrase: line.includes(phrase) }).toEqual({ line, hasPhrase: true });
  });
});
