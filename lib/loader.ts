// Finds and loads the native addon, choosing among the binaries installed: a local build (build/Release, from
// `npm install --build-from-source` or `npm run build:native`), the GPU variants (prebuilds/<platform>-<arch>-cuda/,
// -rocm/) and the CPU prebuild (prebuilds/<platform>-<arch>/). A GPU binary is probed in a child process first
// (probe.ts); the best one that works is loaded, and a fall-back from an unusable GPU variant is announced.
import * as fs from 'fs';
import * as path from 'path';
import { BackendUnavailableError, OptionError } from './errors';
import { LoadAttempt, loadErrorMessage, runtimeFacts } from './load-error';
import { probeBinary } from './probe';

export type Variant = 'cpu' | 'cuda' | 'rocm';
export const VARIANTS: readonly Variant[] = ['cpu', 'cuda', 'rocm'];

export interface LoaderOptions {
  /** Which backend the loaded binary must provide; default NODE_GQA_BACKEND, else 'auto' (the best that works). */
  backend?: 'auto' | Variant;
  /** Do not print the notice about a GPU variant that was passed over; default NODE_GQA_QUIET=1. */
  quiet?: boolean;
}

/** One binary the loader looked at, and what it found. */
export interface BinaryStatus {
  file: string;
  /** What the binary was built for; null when it did not load. */
  variant: Variant | null;
  usable: boolean;
  reason: string;
}

/** What the loader chose and why. */
export interface LoadReport {
  /** The loaded binary. */
  file: string;
  source: 'build' | 'prebuild';
  /** What the loaded binary was built for ('cpu' for a CPU-only build). */
  variant: Variant;
  /** The backend it runs here: its GPU kind when a device is usable, else 'cpu'. */
  backend: Variant;
  reason: string;
  /** The GPU binaries probed (and any binary that failed), for backends(). */
  probed: BinaryStatus[];
  /** Printed once unless quiet: set when a GPU variant was installed but not usable. */
  notice: string | null;
}

interface Candidate {
  file: string;
  source: 'build' | 'prebuild';
  /** Known from the folder for prebuilds; a local build's variant is learnt by probing it. */
  variant?: Variant;
}

/** The package root: the nearest folder above this file with node-gqa's package.json (from lib/ or dist/lib/). */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'node-gqa') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`node-gqa: package.json not found above ${__dirname}`);
    dir = parent;
  }
}

/** The folder holding build/ and prebuilds/: NODE_GQA_PREBUILD (which node-gyp-build honours too), else the package root. */
export function binaryRoot(): string {
  return process.env.NODE_GQA_PREBUILD || packageRoot();
}

/** prebuilds/<platform>-<arch>[-cuda|-rocm]: only the CPU folder has the name node-gyp-build reads. */
export function prebuildFolder(root: string, variant: Variant): string {
  return path.join(root, 'prebuilds', `${process.platform}-${process.arch}${variant === 'cpu' ? '' : `-${variant}`}`);
}

interface NodeGypBuild {
  parseTags(file: string): { file: string } | undefined;
  matchTags(runtime: string, abi: string): (tags: unknown) => boolean;
  compareTags(runtime: string): (a: unknown, b: unknown) => number;
}

/** The prebuild in `folder` that fits this runtime, by node-gyp-build's own tag rules (libc, Node-API/ABI). */
function prebuildIn(folder: string): string | null {
  if (!fs.existsSync(folder)) return null;
  const nodeGypBuild = require('node-gyp-build') as NodeGypBuild;
  const fitting = fs.readdirSync(folder)
    .map((file) => nodeGypBuild.parseTags(file))
    .filter(nodeGypBuild.matchTags('node', process.versions.modules))
    .sort(nodeGypBuild.compareTags('node')) as { file: string }[];
  return fitting.length ? path.join(folder, fitting[0].file) : null;
}

/** Every binary installed under `root`, most preferred first within its kind. */
export function findCandidates(root: string): Candidate[] {
  const release = path.join(root, 'build', 'Release');
  const builds: Candidate[] = fs.existsSync(release)
    ? fs.readdirSync(release).filter((file) => file.endsWith('.node')).map((file) => ({ file: path.join(release, file), source: 'build' }))
    : [];
  const prebuilds: Candidate[] = [];
  for (const variant of ['cuda', 'rocm', 'cpu'] as const) {
    const file = prebuildIn(prebuildFolder(root, variant));
    if (file) prebuilds.push({ file, source: 'prebuild', variant });
  }
  return [...builds, ...prebuilds];
}

function requestedBackend(options: LoaderOptions): 'auto' | Variant {
  const fromEnv = process.env.NODE_GQA_BACKEND || undefined;
  const backend = options.backend ?? fromEnv ?? 'auto';
  if (backend !== 'auto' && !VARIANTS.includes(backend as Variant)) {
    const name = options.backend !== undefined ? 'backend' : 'NODE_GQA_BACKEND';
    throw new OptionError(`${name}: expected 'auto', 'cpu', 'cuda' or 'rocm', received '${String(backend)}'`);
  }
  return backend as 'auto' | Variant;
}

/** Chooses and loads the binary under `root` (see the file comment); throws listing fixes when none loads. */
export function selectBinary(root: string, options: LoaderOptions = {}): { binding: unknown; report: LoadReport } {
  const wanted = requestedBackend(options);
  const candidates = findCandidates(root);
  const probed: BinaryStatus[] = [];
  const attempts: LoadAttempt[] = [];
  const cpuBuilds: Candidate[] = [];
  // GPU binaries without a usable device still run the CPU backend: the last resort for CPU.
  const gpuBinariesForCpu: Candidate[] = [];

  // GPU first: every binary that is or may be a GPU build is probed in a child before it is loaded here.
  for (const candidate of candidates) {
    if (candidate.variant === 'cpu') continue;
    if (candidate.source === 'prebuild' && wanted !== 'auto' && wanted !== candidate.variant) continue;
    const probe = probeBinary(candidate.file);
    if (!probe.loaded) {
      attempts.push({ file: candidate.file, error: probe.reason });
      probed.push({ file: candidate.file, variant: null, usable: false, reason: probe.reason });
      continue;
    }
    if (candidate.variant && probe.gpu !== candidate.variant) {
      const reason = `it is built for ${probe.gpu ?? 'the CPU only'}, not ${candidate.variant}`;
      probed.push({ file: candidate.file, variant: candidate.variant, usable: false, reason });
      continue;
    }
    if (probe.gpu === null) {
      cpuBuilds.push(candidate);
      continue;
    }
    probed.push({ file: candidate.file, variant: probe.gpu, usable: probe.gpuUsable, reason: probe.reason });
    if (probe.gpuUsable && (wanted === 'auto' || wanted === probe.gpu)) {
      const report = { file: candidate.file, source: candidate.source, variant: probe.gpu, backend: probe.gpu, probed, notice: null };
      return { binding: require(candidate.file), report: { ...report, reason: `${probe.gpu} variant: ${probe.reason}` } };
    }
    gpuBinariesForCpu.push(candidate);
  }
  if (wanted === 'cuda' || wanted === 'rocm') {
    const found = probed.filter((status) => status.variant === wanted || status.variant === null);
    const why = found.length
      ? found.map((status) => `${status.file}: ${status.reason}`).join('; ')
      : `no ${wanted} binary is installed (${prebuildFolder(root, wanted)} is missing and build/Release has no ${wanted} build)`;
    throw new BackendUnavailableError(`backend '${wanted}' was requested (NODE_GQA_BACKEND or init()) but cannot run here: ${why}`);
  }

  // CPU: what was built here first (a CPU build, then a GPU build's CPU backend), since a local build is the one the
  // user made, then the CPU prebuild, then a GPU prebuild's CPU backend.
  const local = (candidate: Candidate) => candidate.source === 'build';
  const cpuPrebuild = candidates.filter((candidate) => candidate.variant === 'cpu');
  const cpuOrder = [...cpuBuilds, ...gpuBinariesForCpu.filter(local), ...cpuPrebuild, ...gpuBinariesForCpu.filter((c) => !local(c))];
  for (const candidate of cpuOrder) {
    let binding: unknown;
    try {
      binding = require(candidate.file);
    } catch (err) {
      attempts.push({ file: candidate.file, error: err instanceof Error ? err.message.split('\n')[0] : String(err) });
      continue;
    }
    const variant = probed.find((status) => status.file === candidate.file)?.variant ?? 'cpu';
    const passedOver = probed.filter((status) => !status.usable);
    const reason = wanted === 'cpu'
      ? 'the CPU backend was requested'
      : passedOver.length ? 'no GPU variant is usable here' : 'no GPU variant is installed';
    // A GPU build without a usable device runs its own CPU backend: say so rather than "passed over" itself.
    const describe = (status: BinaryStatus) => status.file === candidate.file
      ? `its ${status.variant ?? 'GPU'} backend (${status.reason})`
      : `${path.relative(root, status.file)} (${status.reason})`;
    const notice = wanted === 'auto' && passedOver.length
      ? `node-gqa: running on the CPU (${path.relative(root, candidate.file)}); passed over ` +
        passedOver.map(describe).join(', ') + '. Silence with NODE_GQA_QUIET=1 or init({ quiet: true }).'
      : null;
    return { binding, report: { file: candidate.file, source: candidate.source, variant, backend: 'cpu', reason, probed, notice } };
  }
  throw new Error(loadErrorMessage(attempts, runtimeFacts()));
}

let loaded: { binding: unknown; report: LoadReport } | undefined;

/** Loads the addon once per process with these options (the first call decides) and says what was chosen. */
export function init(options: LoaderOptions = {}): LoadReport {
  if (loaded) {
    const wanted = requestedBackend(options);
    if (wanted !== 'auto' && wanted !== loaded.report.backend) {
      throw new BackendUnavailableError(`backend '${wanted}' was requested but the addon is already loaded for '${loaded.report.backend}': call init() before the first attention call`);
    }
    return loaded.report;
  }
  loaded = selectBinary(binaryRoot(), options);
  const quiet = options.quiet ?? process.env.NODE_GQA_QUIET === '1';
  if (loaded.report.notice && !quiet) process.stderr.write(`${loaded.report.notice}\n`);
  return loaded.report;
}

/** The native binding, loaded with the default options unless init() ran first. */
export function loadBinding(): unknown {
  init();
  return loaded!.binding;
}
