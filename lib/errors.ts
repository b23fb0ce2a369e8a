// Typed errors. Every error node-gqa throws is a GqaError with a stable `code`; argument errors name the argument.
// The codes are shared with the native core (csrc/include/gqa/status.h), so an error raised by the C++ layer
// arrives as the same class as one raised here.

export class GqaError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A shape, rank or size that does not fit the other arguments. */
export class ShapeError extends GqaError {
  constructor(message: string) { super('ERR_GQA_SHAPE', message); }
}
/** An unknown dtype, a typed array of the wrong kind, or q/k/v dtypes that differ. */
export class DTypeError extends GqaError {
  constructor(message: string) { super('ERR_GQA_DTYPE', message); }
}
/** Strides that would reach outside a buffer, or misaligned data. */
export class StrideError extends GqaError {
  constructor(message: string) { super('ERR_GQA_STRIDE', message); }
}
/** A head map of the wrong length or with entries out of range, or heads that need one. */
export class HeadMapError extends GqaError {
  constructor(message: string) { super('ERR_GQA_HEAD_MAP', message); }
}
/** Variable-length offsets or a page table that are not monotonic or exceed their tensors. */
export class OffsetsError extends GqaError {
  constructor(message: string) { super('ERR_GQA_OFFSETS', message); }
}
/** An option of the wrong type or out of range (scale, softcap, window, sinks, backend...). */
export class OptionError extends GqaError {
  constructor(message: string) { super('ERR_GQA_OPTION', message); }
}
/** A buffer too small for its shape, or detached. */
export class BufferError extends GqaError {
  constructor(message: string) { super('ERR_GQA_BUFFER', message); }
}
/** A valid request this backend cannot run (for example an unsupported head dim). */
export class UnsupportedError extends GqaError {
  constructor(message: string) { super('ERR_GQA_UNSUPPORTED', message); }
}
/** The requested backend is not built in, or no usable device or driver was found. */
export class BackendUnavailableError extends GqaError {
  constructor(message: string) { super('ERR_GQA_BACKEND_UNAVAILABLE', message); }
}
/** Device or host memory ran out. */
export class OutOfMemoryError extends GqaError {
  constructor(message: string) { super('ERR_GQA_OUT_OF_MEMORY', message); }
}
/** A GPU runtime call failed. */
export class DeviceError extends GqaError {
  constructor(message: string) { super('ERR_GQA_DEVICE', message); }
}

const byCode: Record<string, new (message: string) => GqaError> = {
  ERR_GQA_SHAPE: ShapeError,
  ERR_GQA_DTYPE: DTypeError,
  ERR_GQA_STRIDE: StrideError,
  ERR_GQA_HEAD_MAP: HeadMapError,
  ERR_GQA_OFFSETS: OffsetsError,
  ERR_GQA_OPTION: OptionError,
  ERR_GQA_BUFFER: BufferError,
  ERR_GQA_UNSUPPORTED: UnsupportedError,
  ERR_GQA_BACKEND_UNAVAILABLE: BackendUnavailableError,
  ERR_GQA_OUT_OF_MEMORY: OutOfMemoryError,
  ERR_GQA_DEVICE: DeviceError,
};

/** Turns an error thrown by the native binding into its typed class (unknown errors pass through). */
export function fromNative(err: unknown): unknown {
  // Duck-typed: the native Error may come from another realm (vm contexts, test runners).
  if (err instanceof GqaError || typeof err !== 'object' || err === null) return err;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code !== 'string' || !code.startsWith('ERR_GQA_') || typeof message !== 'string') return err;
  const Class = byCode[code];
  return Class ? new Class(message) : new GqaError(code, message);
}
