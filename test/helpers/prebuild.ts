// The CPU prebuild the packaging tests need: the one in prebuilds/ (npm run prebuild), built first when missing.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const ROOT = path.join(__dirname, '..', '..');
export const CPU_PREBUILDS = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);

function cpuPrebuildFile(): string | null {
  const file = fs.existsSync(CPU_PREBUILDS) ? fs.readdirSync(CPU_PREBUILDS).find((name) => name.endsWith('.node')) : undefined;
  return file ? path.join(CPU_PREBUILDS, file) : null;
}

/** The CPU prebuild's path, building it (about a minute) under the machine's build lock if it is missing. */
export function ensureCpuPrebuild(): string {
  const existing = cpuPrebuildFile();
  if (existing) return existing;
  // The lock serialises this with other builds on the machine, and with a test file doing the same.
  const lock = path.join(os.tmpdir(), 'gqa-build.lock');
  const build = `test -n "$(ls ${CPU_PREBUILDS}/*.node 2>/dev/null)" || node scripts/prebuild.js cpu`;
  execFileSync('flock', [lock, 'sh', '-c', build], { cwd: ROOT, stdio: 'inherit' });
  const built = cpuPrebuildFile();
  if (!built) throw new Error(`scripts/prebuild.js cpu left no .node in ${CPU_PREBUILDS}`);
  return built;
}
