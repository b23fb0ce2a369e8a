// What the loaded binary was built with, which variant the loader chose and why, and which backends can run.
import * as fs from 'fs';
import * as path from 'path';
import { LoadReport, VARIANTS, Variant, binaryRoot, init, prebuildFolder } from './loader';
import { NativeBuildInfo, native } from './native';

export interface BuildInfo extends NativeBuildInfo {
  /** The loaded .node file. */
  binary: string;
  source: LoadReport['source'];
  /** The backend this binary runs here (its GPU when a device is usable, else 'cpu'). */
  backend: Variant;
  /** Why the loader chose this binary. */
  reason: string;
}

export function buildInfo(): BuildInfo {
  const info = native().buildInfo();
  const report = init();
  return { ...info, binary: report.file, source: report.source, backend: report.backend, reason: report.reason };
}

export interface BackendStatus {
  name: Variant;
  available: boolean;
  /** Why it is or is not available. */
  reason: string;
}

/** Every backend with whether it can run in this process and why. */
export function backends(): BackendStatus[] {
  const report = init();
  const root = binaryRoot();
  return VARIANTS.map((name): BackendStatus => {
    if (name === 'cpu') return { name, available: true, reason: `built into ${path.basename(report.file)}` };
    if (report.backend === name) return { name, available: true, reason: report.reason };
    const probed = report.probed.filter((status) => status.variant === name);
    if (probed.length) return { name, available: false, reason: probed.map((status) => status.reason).join('; ') };
    const folder = path.relative(root, prebuildFolder(root, name));
    return fs.existsSync(path.join(root, folder))
      ? { name, available: false, reason: `${folder}/ was not probed: backend '${report.backend}' was requested` }
      : { name, available: false, reason: `not installed: no ${folder}/ and no ${name} build in build/Release` };
  });
}
