// GPU-only tests call usableGpu() first: on a machine without a usable GPU it prints why and the test returns.
import { Device, gpu, gpuStatus } from '../../lib';

export function usableGpu(): Device | undefined {
  const status = gpuStatus();
  if (!status.available) {
    console.log(`skipped: ${expect.getState().currentTestName}: ${status.reason}`);
    return undefined;
  }
  return gpu();
}
