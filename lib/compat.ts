// What the shipped binaries need from the system. The README's install table states the same values, and
// test/package.test.ts checks them against the built binaries and the README.

/** The Node-API version the addon is built for (package.json binary.napi_versions, CMakeLists NAPI_VERSION). */
export const NAPI_VERSION = 8;

/** The oldest Node.js release line supported (package.json engines). */
export const MIN_NODE = '18.17';

/** The oldest glibc each linux-x64 prebuild loads on: the newest GLIBC_x.y symbol version it imports. */
export const MIN_GLIBC_BY_VARIANT: Readonly<Record<'cpu' | 'cuda' | 'rocm', string>> = { cpu: '2.32', cuda: '2.34', rocm: '2.32' };

/** What every install relies on: the CPU prebuild's glibc. */
export const MIN_GLIBC = MIN_GLIBC_BY_VARIANT.cpu;

/** libstdc++ stays a shared library: the newest GLIBCXX_x.y.z symbol version the prebuilds import, and the GCC
 *  release whose runtime first provides it. */
export const MIN_GLIBCXX = '3.4.29';
export const MIN_LIBSTDCXX_GCC = '11';

/** Platforms with prebuilt binaries (`<platform>-<arch>`), all built against glibc. */
export const PREBUILT_PLATFORMS: readonly string[] = ['linux-x64'];

/** The CUDA variant: toolkit it is built with (runtime linked statically) and the driver that toolkit needs. */
export const CUDA_TOOLKIT = '13.0';
export const MIN_CUDA_DRIVER = '580';

/** The ROCm variant: the HIP runtime it links (a shared library that must be installed). */
export const ROCM_VERSION = '5.2';

/** Numeric comparison of dotted versions ('2.34' < '2.4' is false): negative, zero or positive. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}
