// Where a report was made: host, GPU device and driver (nvidia-smi, rocminfo; best effort, never fatal), and what
// the loaded addon was built with.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { backends, buildInfo } from '../../lib';

function run(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 10000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function read(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

export interface GpuInfo {
  vendor: 'nvidia' | 'amd';
  name: string;
  /** sm_90, gfx942... */
  arch: string | null;
  driver: string | null;
  runtime: string | null;
}

export function nvidiaGpus(): GpuInfo[] {
  const csv = run('nvidia-smi', ['--query-gpu=name,driver_version,compute_cap', '--format=csv,noheader']);
  if (!csv) return [];
  const header = run('nvidia-smi', []) ?? '';
  const cuda = /CUDA Version:\s*([\d.]+)/.exec(header)?.[1] ?? null;
  return csv.split('\n').filter(Boolean).map((line) => {
    const [name, driver, cap] = line.split(',').map((s) => s.trim());
    return { vendor: 'nvidia' as const, name, arch: cap ? `sm_${cap.replace('.', '')}` : null, driver: driver ?? null, runtime: cuda ? `CUDA ${cuda}` : null };
  });
}

export function amdGpus(): GpuInfo[] {
  const info = run('rocminfo', []);
  if (!info) return [];
  const driver = read('/sys/module/amdgpu/version') ?? (/Driver version:\s*(\S+)/.exec(run('rocm-smi', ['--showdriverversion']) ?? '')?.[1] ?? null);
  const rocm = read('/opt/rocm/.info/version');
  const gpus: GpuInfo[] = [];
  // rocminfo prints one "Agent" block per device; GPU agents have a gfx Name and a Marketing Name.
  for (const block of info.split(/\*{5,}\s*\n\s*Agent \d+/).slice(1)) {
    const name = /^\s*Name:\s*(gfx\w+)/m.exec(block)?.[1];
    if (!name) continue;
    const marketing = /Marketing Name:\s*(.+)/.exec(block)?.[1]?.trim() ?? name;
    gpus.push({ vendor: 'amd', name: marketing, arch: name, driver, runtime: rocm ? `ROCm ${rocm}` : null });
  }
  return gpus;
}

function packageVersion(): string | null {
  for (const dir of [path.join(__dirname, '..', '..'), path.join(__dirname, '..', '..', '..')]) {
    const pkg = read(path.join(dir, 'package.json'));
    if (pkg && JSON.parse(pkg).name === 'node-gqa') return JSON.parse(pkg).version as string;
  }
  return null;
}

export function environment() {
  let build: Record<string, unknown> | null = null;
  let backendStatus: { name: string; available: boolean; reason: string }[] = [];
  try {
    build = { ...buildInfo() };
    backendStatus = backends();
  } catch (err) {
    build = { error: (err as Error).message };
  }
  const cpus = os.cpus();
  return {
    host: {
      hostname: os.hostname(),
      platform: process.platform,
      arch: process.arch,
      cpu: cpus[0]?.model ?? null,
      cores: cpus.length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
    gpus: [...nvidiaGpus(), ...amdGpus()],
    /** Each backend, whether it can run here and why (the loader's probe). */
    backends: backendStatus,
    build: { package: 'node-gqa', version: packageVersion(), commit: run('git', ['rev-parse', '--short', 'HEAD']), ...build },
  };
}
