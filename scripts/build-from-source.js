#!/usr/bin/env node
// Builds the addon from source with cmake-js (Node-API mode: no header download, works offline) into
// build/Release, after checking the toolchain so a missing tool is named instead of failing deep in CMake.
// Extra arguments are passed to cmake-js, e.g. --CDGQA_CUDA=OFF; NODE_GQA_CMAKE_OPTIONS="GQA_CUDA=OFF
// GQA_CUDA_ARCHS=90a-real" passes CMake options through `npm install --build-from-source` too.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');
const { which } = require('./variants');

const MIN_CMAKE = [3, 18];

/** What the build needs and cannot find, each as a phrase for the error message. */
function missingTools() {
  const missing = [];
  const cmake = which('cmake');
  if (!cmake) {
    missing.push(`cmake (>= ${MIN_CMAKE.join('.')})`);
  } else {
    const version = /cmake version (\d+)\.(\d+)/.exec(spawnSync(cmake, ['--version'], { encoding: 'utf8' }).stdout || '');
    if (!version || Number(version[1]) * 1000 + Number(version[2]) < MIN_CMAKE[0] * 1000 + MIN_CMAKE[1]) {
      missing.push(`cmake >= ${MIN_CMAKE.join('.')} (found ${version ? `${version[1]}.${version[2]}` : 'an unreadable version'} at ${cmake})`);
    }
  }
  const cxx = process.env.CXX;
  if (cxx ? !which(cxx) : !['c++', 'g++', 'clang++'].some(which)) {
    missing.push(cxx ? `the C++ compiler CXX=${cxx}` : 'a C++17 compiler (g++ or clang++; or set CXX)');
  }
  if (!which('make') && !which('ninja')) missing.push('a build tool (make or ninja)');
  return missing;
}

const missing = missingTools();
if (missing.length) {
  console.error([
    `node-gqa: cannot build from source: missing ${missing.join(', ')}.`,
    'Install them, then run `npm rebuild node-gqa`:',
    '  Debian/Ubuntu: sudo apt-get install cmake g++ make',
    '  Fedora/RHEL:   sudo dnf install cmake gcc-c++ make',
    '  Alpine:        apk add cmake g++ make',
    '  macOS:         xcode-select --install && brew install cmake',
    "Or install on a system with a prebuilt binary (see the Install section of node-gqa's README).",
  ].join('\n'));
  process.exit(1);
}

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const cmakeOptions = (process.env.NODE_GQA_CMAKE_OPTIONS || '').split(/\s+/).filter(Boolean).map((option) => `--CD${option}`);
const args = [cmakeJs, 'rebuild', '--directory', path.join(__dirname, '..'), ...cmakeOptions, ...process.argv.slice(2)];
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(result.status === null ? 1 : result.status);
