#!/usr/bin/env node
// Stands in for node-gyp when prebuildify runs (prebuildify --node-gyp <this file>): prebuildify has no cmake-js
// backend, so this translates its `node-gyp rebuild --arch=x64 --release ...` call into a cmake-js build of the
// variant named by NODE_GQA_PREBUILD_VARIANT, into <prebuildify cwd>/build/Release where prebuildify looks.
// The --target and --devdir arguments are ignored: a Node-API build needs no Node headers of a given version.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { VARIANTS } = require('./variants');
const { readBinaryInfo } = require('./binary-info');

const root = path.join(__dirname, '..');
const variantName = process.env.NODE_GQA_PREBUILD_VARIANT || 'cpu';
const variant = VARIANTS[variantName];
if (!variant) {
  console.error(`prebuild-cmake-js: unknown NODE_GQA_PREBUILD_VARIANT ${variantName}: expected ${Object.keys(VARIANTS).join(', ')}`);
  process.exit(1);
}
const archArg = process.argv.find((arg) => arg.startsWith('--arch='));
const outDir = path.resolve('build');

const cmakeJsArgs = [
  require.resolve('cmake-js/bin/cmake-js'), 'rebuild',
  '--directory', root,
  '--out', outDir,
  '--config', 'Release',
  '--parallel', process.env.NODE_GQA_BUILD_JOBS || '2',
  ...(archArg ? ['--arch', archArg.slice('--arch='.length)] : []),
  // libstdc++ stays a shared library: linked statically it would import the build machine's newest glibc
  // symbols (arc4random, _dl_find_object), raising the glibc the prebuild needs.
  ...variant.cmake.map((option) => `--CD${option}`),
];
const build = spawnSync(process.execPath, cmakeJsArgs, { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status === null ? 1 : build.status);

// A configuration may build more than one .node (HIP builds its own); keep only the one of this variant, since
// prebuildify takes the first .node it finds. The check also catches a CMakeLists that ignored the variant's options.
const release = path.join(outDir, 'Release');
let kept = 0;
for (const file of fs.readdirSync(release).filter((name) => name.endsWith('.node'))) {
  const full = path.join(release, file);
  const { info, error } = readBinaryInfo(full);
  if (info && info.gpu === variant.gpu) {
    kept++;
  } else {
    console.error(`prebuild-cmake-js: dropping ${file}: ${error || `it reports gpu ${info.gpu}, not ${variant.gpu}: the configuration did not build a ${variantName} binary (does CMakeLists.txt honour ${variant.cmake.join(' ')}?)`}`);
    fs.rmSync(full);
  }
}
if (kept !== 1) {
  console.error(`prebuild-cmake-js: expected one ${variantName} binary in ${release}, found ${kept}`);
  process.exit(1);
}
// A GPU variant whose kernels the linker left out (nothing in the binding calls them yet) would pass the
// buildInfo() check and run nothing on the GPU.
if (variant.deviceCodeSection) {
  const file = fs.readdirSync(release).find((name) => name.endsWith('.node'));
  const sections = spawnSync('objdump', ['-h', path.join(release, file)], { encoding: 'utf8' }).stdout || '';
  if (!sections.includes(variant.deviceCodeSection)) {
    console.error(`prebuild-cmake-js: ${file} has no ${variant.deviceCodeSection} section: the ${variantName} binary carries no GPU kernels`);
    process.exit(1);
  }
}
