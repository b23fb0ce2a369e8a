#!/usr/bin/env node
// The package's install script: keep the binary that fits (a local build, or the CPU prebuild for this platform,
// found as node-gyp-build finds them and checked by loading it in a child process), otherwise build from source.
// `npm install --build-from-source` always builds. GPU variants are chosen at run time by lib/loader.ts.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');
const { readBinaryInfo } = require('./binary-info');

const root = path.join(__dirname, '..');
const requested = process.env.npm_config_build_from_source;

/** Why the installed binaries will not do, or null when one loads here. */
function whyBuild() {
  if (requested === 'true' || requested === 'node-gqa') return '--build-from-source was given';
  let file;
  try {
    file = require('node-gyp-build').path(root);
  } catch {
    return `no prebuilt binary for ${process.platform}-${process.arch}`;
  }
  const { info, error } = readBinaryInfo(file);
  if (error) return `${path.relative(root, file)} does not load here: ${error}`;
  console.log(`node-gqa: using ${path.relative(root, file)} (napi ${info.napiVersion}, gpu ${info.gpu || 'none'})`);
  return null;
}

const reason = whyBuild();
if (reason) {
  console.log(`node-gqa: building from source: ${reason}`);
  const build = spawnSync(process.execPath, [path.join(__dirname, 'build-from-source.js')], { stdio: 'inherit' });
  process.exit(build.status === null ? 1 : build.status);
}
