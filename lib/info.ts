// What the loaded binary was built with.
import { NativeBuildInfo, native } from './native';

export function buildInfo(): NativeBuildInfo {
  return native().buildInfo();
}
