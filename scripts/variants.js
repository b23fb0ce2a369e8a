// The binary variants node-gqa ships, shared by the prebuild script and the install script (plain JS: it runs
// at install time, before TypeScript is compiled). lib/variants.ts mirrors the folder names for the loader.
'use strict';
const fs = require('fs');
const path = require('path');

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Looks a program up on PATH (a name with a slash is checked as given); returns its full path or null. */
function which(program) {
  if (program.includes('/')) return isExecutable(program) ? program : null;
  const dirs = (process.env.PATH || '').split(path.delimiter).filter(Boolean);
  const found = dirs.map((dir) => path.join(dir, program)).find(isExecutable);
  return found || null;
}

/**
 * Each variant: the prebuilds/ folder suffix, the CMake options that select it, the toolchain it needs, the
 * `buildInfo().gpu` value its binary must report and the ELF section its GPU kernels live in. The GPU variants live in folders node-gyp-build does not read
 * (it only knows `<platform>-<arch>`), so only the loader picks them, after probing.
 */
const VARIANTS = {
  cpu: { folderSuffix: '', cmake: ['GQA_CUDA=OFF', 'GQA_HIP=OFF'], gpu: null, toolchain: () => null },
  cuda: {
    folderSuffix: '-cuda',
    deviceCodeSection: '.nv_fatbin',
    cmake: ['GQA_CUDA=ON', 'GQA_HIP=OFF'],
    gpu: 'cuda',
    toolchain: () => (which('nvcc') || fs.existsSync('/usr/local/cuda/bin/nvcc') ? null : 'nvcc (the CUDA toolkit) not found'),
  },
  rocm: {
    folderSuffix: '-rocm',
    deviceCodeSection: '.hip_fatbin',
    cmake: ['GQA_CUDA=OFF', 'GQA_HIP=ON'],
    gpu: 'rocm',
    toolchain: () => (which('hipcc') || fs.existsSync('/opt/rocm/bin/hipcc') ? null : 'hipcc (ROCm) not found'),
  },
};

/** prebuilds/<platform>-<arch>[-variant] under the package root. */
function prebuildFolder(root, variant, platform = process.platform, arch = process.arch) {
  return path.join(root, 'prebuilds', `${platform}-${arch}${VARIANTS[variant].folderSuffix}`);
}

module.exports = { VARIANTS, prebuildFolder, which };
