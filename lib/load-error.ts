// The message thrown when no binary loads: what was tried, and the fixes that fit what went wrong.
import { MIN_GLIBC, MIN_LIBSTDCXX_GCC, MIN_NODE, NAPI_VERSION, PREBUILT_PLATFORMS, compareVersions } from './compat';

/** A binary the loader tried, and why it was not used. */
export interface LoadAttempt {
  file: string;
  error: string;
}

/** The facts about this runtime the diagnosis needs. */
export interface RuntimeFacts {
  platform: string;
  arch: string;
  node: string;
  napi: number;
  /** glibc version, or null where the C library is not glibc (musl) or not Linux. */
  glibc: string | null;
}

export function runtimeFacts(): RuntimeFacts {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return {
    platform: process.platform,
    arch: process.arch,
    node: process.versions.node,
    napi: Number(process.versions.napi),
    glibc: report?.header?.glibcVersionRuntime ?? null,
  };
}

const BUILD_FROM_SOURCE =
  'Build from source: npm install node-gqa --build-from-source (needs cmake >= 3.18 and a C++17 compiler; ' +
  'with nvcc on PATH the CUDA backend is built too, with hipcc the ROCm one).';

/** The fixes that fit these attempts on this runtime, most specific first; building from source is always last. */
export function possibleSolutions(attempts: readonly LoadAttempt[], facts: RuntimeFacts): string[] {
  const solutions: string[] = [];
  if (facts.napi < NAPI_VERSION) {
    solutions.push(`Use Node.js >= ${MIN_NODE}: node-gqa needs Node-API ${NAPI_VERSION}, Node.js ${facts.node} has Node-API ${facts.napi}.`);
  }
  if (attempts.some((attempt) => /ERR_DLOPEN_DISABLED/.test(attempt.error))) {
    solutions.push('Node.js runs with --no-addons (or NODE_OPTIONS contains it): remove that flag.');
  }
  const platform = `${facts.platform}-${facts.arch}`;
  if (!PREBUILT_PLATFORMS.includes(platform)) {
    solutions.push(`There is no prebuilt binary for ${platform} (prebuilds: ${PREBUILT_PLATFORMS.join(', ')} with glibc): build from source.`);
  } else if (facts.glibc === null) {
    solutions.push(`The ${platform} prebuilds need glibc; this system's C library is not glibc (musl?): build from source.`);
  } else {
    const missing = attempts.map((attempt) => /GLIBC_(\d+(?:\.\d+)+)'? not found/.exec(attempt.error)?.[1]).find(Boolean);
    if (missing || compareVersions(facts.glibc, MIN_GLIBC) < 0) {
      solutions.push(`The prebuilt binary needs glibc >= ${missing ?? MIN_GLIBC}; this system has glibc ${facts.glibc}: update the OS, or build from source.`);
    }
    const missingCxx = attempts.map((attempt) => /GLIBCXX_(\d+(?:\.\d+)+)'? not found/.exec(attempt.error)?.[1]).find(Boolean);
    if (missingCxx) {
      solutions.push(`The prebuilt binary needs libstdc++ with GLIBCXX_${missingCxx} (GCC >= ${MIN_LIBSTDCXX_GCC}'s runtime): update libstdc++ (the OS), or build from source.`);
    }
  }
  if (attempts.length === 0) {
    solutions.push('No binary is installed (no prebuilds/ folder, no build/): reinstall node-gqa; if npm skipped its install script, allow it (npm install-scripts approve node-gqa) and run npm rebuild node-gqa.');
  }
  solutions.push(BUILD_FROM_SOURCE);
  return solutions;
}

export function loadErrorMessage(attempts: readonly LoadAttempt[], facts: RuntimeFacts): string {
  const runtime = `${facts.platform}-${facts.arch}, Node.js ${facts.node} (Node-API ${facts.napi}), ` +
    (facts.glibc ? `glibc ${facts.glibc}` : 'no glibc');
  const tried = attempts.length ? attempts.map((attempt) => `  - ${attempt.file}: ${attempt.error}`) : ['  (no binary found)'];
  return [
    `node-gqa: could not load the native addon on ${runtime}.`,
    'Tried:',
    ...tried,
    'Possible solutions:',
    ...possibleSolutions(attempts, facts).map((solution) => `  - ${solution}`),
    "See the Install section of node-gqa's README for the supported systems.",
  ].join('\n');
}
