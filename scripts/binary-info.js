// Reads buildInfo() from a built .node in a child process, so a binary that cannot load (missing GPU runtime,
// glibc too old) or crashes while loading cannot take the caller down. Used by the prebuild and install scripts.
'use strict';
const { spawnSync } = require('child_process');

const READ_BUILD_INFO = 'process.stdout.write(JSON.stringify(require(process.argv[1]).buildInfo()))';

/** { info } with the binary's buildInfo(), or { error } saying why it could not be read. */
function readBinaryInfo(file) {
  const child = spawnSync(process.execPath, ['-e', READ_BUILD_INFO, file], { encoding: 'utf8', timeout: 30000 });
  if (child.error) return { error: child.error.message };
  if (child.status !== 0) {
    const lines = (child.stderr || '').split('\n').map((line) => line.trim()).filter(Boolean);
    const detail = lines.find((line) => /error/i.test(line)) || lines.pop() || `exit status ${child.status}`;
    return { error: child.signal ? `crashed with ${child.signal}` : detail };
  }
  return { info: JSON.parse(child.stdout) };
}

module.exports = { readBinaryInfo };
