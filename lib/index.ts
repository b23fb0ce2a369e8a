// node-gqa: grouped-query attention for Node.js on CUDA, ROCm and the CPU.
export { attention, attentionAsync } from './attention';
export type { AnyTensor, AttentionOptions, AttentionResult, Alignment, BackendName, PageTable } from './attention';
export { Device, DeviceTensor, PinnedTensor, devices, gpu, gpuStatus } from './device';
export type { DeviceKind, GpuStatus } from './device';
export { KVCache } from './kv-cache';
export type { KVCacheOptions, KVCacheAttentionOptions } from './kv-cache';
export { Tensor, contiguousStrides } from './tensor';
export type { Float16ArrayLike, TensorData } from './tensor';
export { bf16, f16, dtypeSize, DTYPES } from './dtype';
export type { DType } from './dtype';
export {
  GqaError, ShapeError, DTypeError, StrideError, HeadMapError, OffsetsError, OptionError, BufferError,
  UnsupportedError, BackendUnavailableError, OutOfMemoryError, DeviceError,
} from './errors';
export { buildInfo, backends } from './info';
export type { BuildInfo, BackendStatus } from './info';
export { init } from './loader';
export type { LoaderOptions, LoadReport, Variant } from './loader';
