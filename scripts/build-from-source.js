#!/usr/bin/env node
// Builds the addon from source with cmake-js (Node-API mode: no header download, works offline).
// Extra arguments are passed to cmake-js, e.g. --CDGQA_CUDA=OFF.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const args = [cmakeJs, 'rebuild', '--directory', path.join(__dirname, '..'), ...process.argv.slice(2)];
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(result.status === null ? 1 : result.status);
