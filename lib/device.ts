// Devices and device-resident tensors. devices() lists what this process can compute on (the CPU always, then the
// usable GPUs); gpuStatus() says why no GPU is listed. A DeviceTensor lives in a device's memory between calls:
// upload once, pass it to attention() (whose output then stays on the device too), download when the host needs
// the values. The 'cpu' device keeps "device" memory in native host memory, so the same code runs (and is tested)
// on machines without a GPU.
import { DType, dtypeSize } from './dtype';
import { BackendUnavailableError, BufferError, OptionError, ShapeError, fromNative } from './errors';
import { NativeDeviceBuffer, NativePinnedBuffer, native } from './native';
import { Tensor, TensorData, contiguousStrides, describe, storageOf } from './tensor';

export type DeviceKind = 'cpu' | 'cuda' | 'rocm';

/** Why GPUs are or are not usable in this process. */
export interface GpuStatus {
  /** The GPU runtime this binary was built for; null for a CPU-only build. */
  kind: 'cuda' | 'rocm' | null;
  available: boolean;
  devices: number;
  /** "2 cuda device(s)", or why none: no GPU backend built in, no driver, driver too old, no device. */
  reason: string;
}

function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fromNative(err);
  }
}

async function callAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromNative(err);
  }
}

function typedArray(dtype: DType, length: number): TensorData {
  return dtype === 'f32' ? new Float32Array(length) : new Uint16Array(length);
}

/** Elements from a tensor's first element to one past its last, following its strides (0 when empty). */
function span(shape: readonly number[], strides: readonly number[]): number {
  if (shape.some((n) => n === 0)) return 0;
  return shape.reduce((acc, n, i) => acc + (n - 1) * strides[i], 0) + 1;
}

export class Device {
  readonly kind: DeviceKind;
  readonly index: number;
  readonly name: string;
  /** SIMD level for the CPU ('avx512', 'avx2'...), architecture for a GPU ('sm_90', 'gfx90a'). */
  readonly arch: string;
  /** Total memory in bytes. */
  readonly memory: number;

  constructor(info: { kind: DeviceKind; index: number; name: string; arch: string; memory: number }) {
    this.kind = info.kind;
    this.index = info.index;
    this.name = info.name;
    this.arch = info.arch;
    this.memory = info.memory;
  }

  /** 'cpu:0', 'cuda:1'... */
  toString(): string {
    return `${this.kind}:${this.index}`;
  }

  /** A tensor of this device's memory; contents unspecified on a GPU (zeros on the CPU). Strides default to contiguous. */
  empty(dtype: DType, shape: readonly number[], strides?: readonly number[]): DeviceTensor {
    // Tensor's constructor validates dtype, shape and strides; a zero-length array stands in for the data.
    const layout = new Tensor(typedArray(dtype, 0), dtype, shape, strides);
    const bytes = span(layout.shape, layout.strides) * dtypeSize(dtype);
    const buffer = call(() => new (native().DeviceBuffer)(this.kind, this.index, bytes));
    return new DeviceTensor(this, buffer, 0, dtype, layout.shape, layout.strides);
  }

  /** Copies a host tensor to this device (its strides kept, bit for bit). */
  upload(tensor: Tensor): DeviceTensor {
    const [t, src] = this.prepareUpload(tensor);
    call(() => native().copy(t.buffer, src, regions(0, 0, t.byteLength)));
    return t;
  }

  /** upload() off the event loop; the host tensor must not change until the Promise settles. */
  async uploadAsync(tensor: Tensor): Promise<DeviceTensor> {
    const [t, src] = this.prepareUpload(tensor);
    await callAsync(() => native().copyAsync(t.buffer, src, regions(0, 0, t.byteLength)));
    return t;
  }

  /**
   * A host tensor over pinned (page-locked) memory on a GPU, for staging copies: the typed array is the memory
   * itself (zero copy) unless the runtime forbids external buffers (`external` false: an ordinary array). Shape
   * defaults to [length].
   */
  pinned(dtype: DType, length: number, shape: readonly number[] = [length]): PinnedTensor {
    if (!Number.isSafeInteger(length) || length < 1) throw new OptionError(`length: expected a positive integer, received ${String(length)}`);
    if (shape.reduce((a, b) => a * b, 1) !== length) throw new ShapeError(`shape: [${shape.join(', ')}] does not hold ${length} elements`);
    const buffer = call(() => new (native().PinnedBuffer)(this.kind, this.index, length * dtypeSize(dtype)));
    return new PinnedTensor(buffer, dtype, shape);
  }

  // The device tensor to fill and the host memory to copy from, checked before anything is allocated.
  private prepareUpload(tensor: Tensor): [DeviceTensor, Float32Array | Uint16Array] {
    if (!(tensor instanceof Tensor)) throw new ShapeError(`tensor: expected a Tensor, received ${describe(tensor)}`);
    const elements = span(tensor.shape, tensor.strides);
    if (elements > tensor.data.length) {
      throw new BufferError(`tensor: shape [${tensor.shape.join(', ')}] with its strides needs ${elements} elements, the buffer holds ${tensor.data.length}`);
    }
    const src = storageOf(tensor.data, 'tensor');
    return [this.empty(tensor.dtype, tensor.shape, tensor.strides), src];
  }
}

/** A tensor in a device's memory: dtype, shape and element strides like Tensor, data in `buffer` from `byteOffset`. */
export class DeviceTensor {
  constructor(
    readonly device: Device,
    readonly buffer: NativeDeviceBuffer,
    readonly byteOffset: number,
    readonly dtype: DType,
    readonly shape: readonly number[],
    readonly strides: readonly number[] = contiguousStrides(shape),
  ) {}

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Elements the buffer holds from byteOffset on (what the shape and strides may reach). */
  get capacity(): number {
    return this.disposed ? 0 : Math.floor((this.buffer.byteLength - this.byteOffset) / dtypeSize(this.dtype));
  }

  get byteLength(): number {
    return span(this.shape, this.strides) * dtypeSize(this.dtype);
  }

  get disposed(): boolean {
    return this.buffer.disposed;
  }

  /** Overwrites this tensor with a host tensor of the same dtype, shape and strides (reuse across decode steps). */
  write(host: Tensor): void {
    call(() => native().copy(this.buffer, this.checkWrite(host), regions(this.byteOffset, 0, this.byteLength)));
  }

  async writeAsync(host: Tensor): Promise<void> {
    await callAsync(() => native().copyAsync(this.buffer, this.checkWrite(host), regions(this.byteOffset, 0, this.byteLength)));
  }

  private checkWrite(host: Tensor): Float32Array | Uint16Array {
    if (!(host instanceof Tensor)) throw new ShapeError(`host: expected a Tensor, received ${describe(host)}`);
    const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((n, i) => n === b[i]);
    if (host.dtype !== this.dtype || !same(host.shape, this.shape) || !same(host.strides, this.strides)) {
      throw new ShapeError(`host: ${host.dtype} [${host.shape.join(', ')}] strides [${host.strides.join(', ')}] differs from the device tensor's ${this.dtype} [${this.shape.join(', ')}] strides [${this.strides.join(', ')}]`);
    }
    return storageOf(host.data, 'host');
  }

  /** The values as a host tensor with the same strides. */
  download(): Tensor {
    const data = typedArray(this.dtype, span(this.shape, this.strides));
    call(() => native().copy(data, this.buffer, regions(0, this.byteOffset, this.byteLength)));
    return new Tensor(data, this.dtype, this.shape, this.strides);
  }

  async downloadAsync(): Promise<Tensor> {
    const data = typedArray(this.dtype, span(this.shape, this.strides));
    await callAsync(() => native().copyAsync(data, this.buffer, regions(0, this.byteOffset, this.byteLength)));
    return new Tensor(data, this.dtype, this.shape, this.strides);
  }

  /** Frees the device memory now (idempotent); calls in flight keep it until they settle. Later use throws BufferError. */
  dispose(): void {
    this.buffer.dispose();
  }
}

/** A host Tensor over pinned memory (Device.pinned). */
export class PinnedTensor extends Tensor {
  private readonly pinnedBuffer: NativePinnedBuffer;

  constructor(buffer: NativePinnedBuffer, dtype: DType, shape: readonly number[]) {
    super(dtype === 'f32' ? new Float32Array(buffer.buffer) : new Uint16Array(buffer.buffer), dtype, shape);
    this.pinnedBuffer = buffer;
  }

  /** Page-locked (true on a GPU unless the runtime forbids external buffers). */
  get pinned(): boolean {
    return this.pinnedBuffer.pinned;
  }

  /** The typed array is the native memory itself (false: the copying fall-back). */
  get external(): boolean {
    return this.pinnedBuffer.external;
  }

  get disposed(): boolean {
    return this.pinnedBuffer.disposed;
  }

  /** Detaches the typed array (its length becomes 0) and frees the memory once no call in flight reads it. */
  dispose(): void {
    this.pinnedBuffer.dispose();
  }
}

/** Copies (dstByte, srcByte, bytes) triples between host typed arrays and device buffers in one native call. */
export function copyRegions(dst: NativeDeviceBuffer | ArrayBufferView, src: NativeDeviceBuffer | ArrayBufferView, triples: Float64Array): void {
  call(() => native().copy(dst, src, triples));
}

export function copyRegionsAsync(dst: NativeDeviceBuffer | ArrayBufferView, src: NativeDeviceBuffer | ArrayBufferView, triples: Float64Array): Promise<void> {
  return callAsync(() => native().copyAsync(dst, src, triples));
}

function regions(dstOffset: number, srcOffset: number, bytes: number): Float64Array {
  return Float64Array.of(dstOffset, srcOffset, bytes);
}

/** Every device usable here: the CPU first, then each GPU of the kind this binary was built for. */
export function devices(): Device[] {
  return call(() => native().devices()).map((info) => new Device(info));
}

export function gpuStatus(): GpuStatus {
  return call(() => native().gpuStatus());
}

/** The GPU at `index`; throws BackendUnavailableError saying why when there is none. */
export function gpu(index = 0): Device {
  const found = devices().filter((d) => d.kind !== 'cpu');
  if (found.length === 0) throw new BackendUnavailableError(`no GPU: ${gpuStatus().reason}`);
  if (!Number.isInteger(index) || index < 0 || index >= found.length) {
    throw new OptionError(`index: expected 0 to ${found.length - 1}, received ${String(index)}`);
  }
  return found[index];
}
