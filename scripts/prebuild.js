#!/usr/bin/env node
// `npm run prebuild`: builds every variant this machine's toolchains allow with prebuildify (through
// scripts/prebuild-cmake-js.js) and puts each in its folder: prebuilds/linux-x64/ (CPU, what node-gyp-build
// finds), prebuilds/linux-x64-cuda/ and prebuilds/linux-x64-rocm/ (chosen by lib/loader.ts after a probe).
// Binaries are stripped, Node-API (one file serves every Node version) and tagged for the C library.
//   node scripts/prebuild.js [cpu|cuda|rocm ...]     default: all variants; the CPU one must succeed
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { VARIANTS, prebuildFolder } = require('./variants');

const root = path.join(__dirname, '..');
const requested = process.argv.slice(2);
for (const name of requested) {
  if (!VARIANTS[name]) {
    console.error(`prebuild: unknown variant ${name}: expected ${Object.keys(VARIANTS).join(', ')}`);
    process.exit(1);
  }
}
const variants = requested.length ? requested : Object.keys(VARIANTS);

/** Builds one variant in its own staging folder (build-prebuild/<variant>, so the shared build/ is untouched). */
function prebuildVariant(name) {
  const staging = path.join(root, 'build-prebuild', name);
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  const prebuildify = require.resolve('prebuildify/bin.js');
  const args = [prebuildify, staging, '--napi', '--strip', '--tag-libc', '--name', 'node-gqa',
    '--out', staging, '--node-gyp', path.join(__dirname, 'prebuild-cmake-js.js')];
  const run = spawnSync(process.execPath, args, {
    stdio: 'inherit',
    env: { ...process.env, NODE_GQA_PREBUILD_VARIANT: name },
  });
  if (run.status !== 0) return `the build failed (exit status ${run.status})`;

  const built = path.join(staging, 'prebuilds', `${process.platform}-${process.arch}`);
  const destination = prebuildFolder(root, name);
  fs.rmSync(destination, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(destination), { recursive: true });
  fs.renameSync(built, destination);
  for (const file of fs.readdirSync(destination)) console.log(`prebuild: ${name}: ${path.relative(root, path.join(destination, file))}`);
  return null;
}

const failures = [];
for (const name of variants) {
  const missing = VARIANTS[name].toolchain();
  if (missing) {
    console.log(`prebuild: ${name}: skipped, ${missing}`);
    continue;
  }
  console.log(`prebuild: ${name}: building`);
  const failure = prebuildVariant(name);
  if (failure) {
    console.error(`prebuild: ${name}: ${failure}`);
    failures.push(name);
  }
}
// The CPU prebuild is the one every install relies on; a GPU variant this machine cannot build is reported above.
process.exit(failures.includes('cpu') ? 1 : 0);
