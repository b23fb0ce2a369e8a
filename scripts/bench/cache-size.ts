// The CPU's cache sizes, for the benchmark to know which K and V stay in cache between two calls.
import * as fs from 'fs';
import * as path from 'path';

const SIZE_UNITS = ['', 'K', 'M', 'G'];

/** The size of the CPU's highest-level cache as the system lists it (Linux: sysfs), else undefined. */
export function lastLevelCacheBytes(caches = '/sys/devices/system/cpu/cpu0/cache'): number | undefined {
  let level = 0, bytes: number | undefined;
  const indexes = fs.existsSync(caches) ? fs.readdirSync(caches).filter((name) => /^index\d+$/.test(name)) : [];
  for (const index of indexes) {
    const read = (file: string) => {
      const at = path.join(caches, index, file);
      return fs.existsSync(at) ? fs.readFileSync(at, 'utf8').trim() : '';
    };
    const size = /^(\d+)([KMG]?)$/.exec(read('size'));
    const thisLevel = Number(read('level'));
    if (!size || !(thisLevel > level)) continue;
    level = thisLevel;
    bytes = Number(size[1]) * 1024 ** SIZE_UNITS.indexOf(size[2]);
  }
  return bytes;
}
