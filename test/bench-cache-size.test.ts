// The benchmark reads the last-level cache size from sysfs to know which K and V stay in cache between two calls.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { lastLevelCacheBytes } from '../scripts/bench/cache-size';

const roots: string[] = [];
afterAll(() => roots.forEach((root) => fs.rmSync(root, { recursive: true, force: true })));

function sysfs(entries: Record<string, { level?: string; size?: string }>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'node-gqa-caches-'));
  roots.push(root);
  for (const [index, files] of Object.entries(entries)) {
    fs.mkdirSync(path.join(root, index));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(root, index, name), `${text}\n`);
  }
  return root;
}

test('takes the size of the highest level, in whatever order the indexes come, with its unit', () => {
  const root = sysfs({
    index3: { level: '3', size: '32768K' },
    index0: { level: '1', size: '48K' },
    index1: { level: '1', size: '32K' },
    index2: { level: '2', size: '1M' },
  });
  expect(lastLevelCacheBytes(root)).toBe(32 * 1024 * 1024);
});

test('reads sizes in bytes, megabytes and gigabytes', () => {
  expect(lastLevelCacheBytes(sysfs({ index0: { level: '2', size: '524288' } }))).toBe(524288);
  expect(lastLevelCacheBytes(sysfs({ index0: { level: '3', size: '96M' } }))).toBe(96 * 1024 * 1024);
  expect(lastLevelCacheBytes(sysfs({ index0: { level: '4', size: '1G' } }))).toBe(1024 ** 3);
});

test('passes over entries it cannot read and says undefined when nothing is listed', () => {
  const root = sysfs({ index0: { level: '2', size: '2M' }, index1: { level: '3' }, index2: { size: '8M' }, uevent: {} });
  expect(lastLevelCacheBytes(root)).toBe(2 * 1024 * 1024);
  expect(lastLevelCacheBytes(sysfs({}))).toBeUndefined();
  expect(lastLevelCacheBytes(path.join(os.tmpdir(), 'node-gqa-no-such-folder'))).toBeUndefined();
});

test('finds this machine\'s cache where the system lists it', () => {
  if (!fs.existsSync('/sys/devices/system/cpu/cpu0/cache')) {
    console.log(`skipped: ${expect.getState().currentTestName}: no sysfs cache listing here`);
    return;
  }
  expect(lastLevelCacheBytes()).toBeGreaterThanOrEqual(64 * 1024);
});
