// Checks a GPU variant in a child process before the host process loads it: a missing runtime library, a broken
// driver or a crash while loading then costs a failed probe, not the host process.
import { spawnSync } from 'child_process';
import * as fs from 'fs';

export type GpuKind = 'cuda' | 'rocm';

export interface ProbeResult {
  /** The binary loaded and answered buildInfo(). */
  loaded: boolean;
  /** What the binary was built for (buildInfo().gpu), when it loaded. */
  gpu: GpuKind | null;
  /** The GPU backend can run here: the binary loaded and found a device of its kind. */
  gpuUsable: boolean;
  /** Why not, or what was found. */
  reason: string;
}

// Runs in the child: loads the binary and reports what it was built for and, as far as the binding can tell, how
// many devices of that kind it sees and why none. Extending the probe means extending this script.
const PROBE_SCRIPT = `
const binding = require(process.argv[1]);
const gpu = binding.buildInfo().gpu;
let status = null;
if (gpu !== null && typeof binding.gpuStatus === 'function') {
  const { devices, reason } = binding.gpuStatus();
  status = { devices, reason };
} else if (gpu !== null && typeof binding.devices === 'function') {
  const devices = binding.devices().filter((device) => device.kind === gpu).length;
  status = { devices, reason: devices ? devices + ' ' + gpu + ' device(s)' : 'no ' + gpu + ' device found' };
}
process.stdout.write(JSON.stringify({ gpu, status }));
`;

// Where the binding cannot tell (no gpuStatus() or devices()), the kernel driver's presence is the device check.
const DRIVER_EVIDENCE: Record<GpuKind, { path: string; what: string }> = {
  cuda: { path: '/proc/driver/nvidia/version', what: 'NVIDIA driver' },
  rocm: { path: '/dev/kfd', what: 'AMD GPU kernel driver (amdgpu/KFD)' },
};

const PROBE_TIMEOUT_MS = 30000;

export function probeBinary(file: string): ProbeResult {
  const child = spawnSync(process.execPath, ['-e', PROBE_SCRIPT, file], {
    encoding: 'utf8',
    timeout: PROBE_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.error || child.status !== 0) {
    return { loaded: false, gpu: null, gpuUsable: false, reason: `it failed to load: ${childFailure(child)}` };
  }
  const { gpu, status } = JSON.parse(child.stdout) as { gpu: GpuKind | null; status: { devices: number; reason: string } | null };
  if (gpu === null) return { loaded: true, gpu, gpuUsable: false, reason: 'it is a CPU-only build' };
  if (status !== null) return { loaded: true, gpu, gpuUsable: status.devices > 0, reason: status.reason };
  const driver = DRIVER_EVIDENCE[gpu];
  return fs.existsSync(driver.path)
    ? { loaded: true, gpu, gpuUsable: true, reason: `${driver.what} present` }
    : { loaded: true, gpu, gpuUsable: false, reason: `no ${driver.what} (${driver.path} is missing)` };
}

function childFailure(child: ReturnType<typeof spawnSync>): string {
  if (child.error) {
    return (child.error as NodeJS.ErrnoException).code === 'ETIMEDOUT'
      ? `no answer within ${PROBE_TIMEOUT_MS / 1000} s`
      : child.error.message;
  }
  if (child.signal) return `the probe crashed with ${child.signal}`;
  const lines = String(child.stderr).split('\n').map((line) => line.trim()).filter(Boolean);
  return lines.find((line) => /error/i.test(line)) ?? lines.pop() ?? `exit status ${child.status}`;
}
