// Finds and loads the native addon: a local build (build/Release) or a prebuild for this platform (prebuilds/).
import * as fs from 'fs';
import * as path from 'path';

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

export function loadBinding(): unknown {
  // node-gyp-build looks in build/Release first, then prebuilds/<platform>-<arch>/.
  const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
  return nodeGypBuild(packageRoot());
}
