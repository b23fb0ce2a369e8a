// An ONNX model holding one com.microsoft GroupQueryAttention node, encoded by hand: the benchmark's peer runs it on
// onnxruntime's CPU provider. ONNX models are protobuf messages (onnx/onnx.proto); the handful of fields used here
// are encoded directly, so the benchmark needs no protobuf or onnx package.
//
// The node's contract (onnxruntime docs/ContribOperators.md, GroupQueryAttention):
//   query [B, S, Hq*D], key/value [B, S, Hkv*D] (the new tokens), past_key/past_value [B, Hkv, P, D] (BNSH cache),
//   seqlens_k [B] int32 = total length - 1, total_sequence_length scalar int32;
//   outputs: output [B, S, Hq*D], present_key/present_value [B, Hkv, P + S, D].
// Attention is causal with the new tokens placed after the cache (bottom-right alignment).

// Protobuf wire types.
const VARINT = 0;
const FIXED32 = 5;
const LENGTH_DELIMITED = 2;

// ONNX enum values (onnx.proto).
const ATTRIBUTE_FLOAT = 1;
const ATTRIBUTE_INT = 2;
const TENSOR_FLOAT = 1;
const TENSOR_INT32 = 6;

/** Protobuf varint of a non-negative integer (up to 2^53, enough for every field here). */
export function varint(value: number): number[] {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint: expected a non-negative safe integer, received ${value}`);
  const bytes: number[] = [];
  while (value >= 0x80) {
    bytes.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  bytes.push(value);
  return bytes;
}

function key(field: number, wireType: number): number[] {
  return varint(field * 8 + wireType);
}

function intField(field: number, value: number): number[] {
  return [...key(field, VARINT), ...varint(value)];
}

function floatField(field: number, value: number): number[] {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setFloat32(0, value, true);
  return [...key(field, FIXED32), ...bytes];
}

function bytesField(field: number, payload: number[]): number[] {
  return [...key(field, LENGTH_DELIMITED), ...varint(payload.length), ...payload];
}

function stringField(field: number, value: string): number[] {
  return bytesField(field, [...Buffer.from(value, 'utf8')]);
}

// AttributeProto { name = 1; f = 2; i = 3; type = 20 }
function intAttribute(name: string, value: number): number[] {
  return [...stringField(1, name), ...intField(3, value), ...intField(20, ATTRIBUTE_INT)];
}

function floatAttribute(name: string, value: number): number[] {
  return [...stringField(1, name), ...floatField(2, value), ...intField(20, ATTRIBUTE_FLOAT)];
}

/** A dimension: a fixed size, or a name for a size chosen when the model runs. */
type Dim = number | string;

// ValueInfoProto { name = 1; type = 2 } with TypeProto { tensor_type = 1 },
// TypeProto.Tensor { elem_type = 1; shape = 2 }, TensorShapeProto { dim = 1 }, Dimension { dim_value = 1; dim_param = 2 }.
function tensorValueInfo(name: string, elemType: number, shape: readonly Dim[]): number[] {
  const dims = shape.flatMap((d) => bytesField(1, typeof d === 'number' ? intField(1, d) : stringField(2, d)));
  const tensorType = [...intField(1, elemType), ...bytesField(2, dims)];
  return [...stringField(1, name), ...bytesField(2, bytesField(1, tensorType))];
}

export interface GqaModelOptions {
  numHeads: number;
  kvNumHeads: number;
  headDim: number;
  scale: number;
}

/** The input and output names of the model, in the order of the node's inputs and outputs. */
export const GQA_INPUTS = ['query', 'key', 'value', 'past_key', 'past_value', 'seqlens_k', 'total_sequence_length'] as const;
export const GQA_OUTPUTS = ['output', 'present_key', 'present_value'] as const;

/** ModelProto bytes of a graph with one GroupQueryAttention node; batch and sequence lengths are left free. */
export function gqaModel({ numHeads, kvNumHeads, headDim, scale }: GqaModelOptions): Uint8Array {
  // NodeProto { input = 1; output = 2; name = 3; op_type = 4; attribute = 5; domain = 7 }
  const node = [
    ...GQA_INPUTS.flatMap((name) => stringField(1, name)),
    ...GQA_OUTPUTS.flatMap((name) => stringField(2, name)),
    ...stringField(3, 'gqa'),
    ...stringField(4, 'GroupQueryAttention'),
    ...bytesField(5, intAttribute('num_heads', numHeads)),
    ...bytesField(5, intAttribute('kv_num_heads', kvNumHeads)),
    ...bytesField(5, floatAttribute('scale', scale)),
    ...stringField(7, 'com.microsoft'),
  ];
  const inputs = [
    tensorValueInfo('query', TENSOR_FLOAT, ['batch', 'seq', numHeads * headDim]),
    tensorValueInfo('key', TENSOR_FLOAT, ['batch', 'seq', kvNumHeads * headDim]),
    tensorValueInfo('value', TENSOR_FLOAT, ['batch', 'seq', kvNumHeads * headDim]),
    tensorValueInfo('past_key', TENSOR_FLOAT, ['batch', kvNumHeads, 'past', headDim]),
    tensorValueInfo('past_value', TENSOR_FLOAT, ['batch', kvNumHeads, 'past', headDim]),
    tensorValueInfo('seqlens_k', TENSOR_INT32, ['batch']),
    tensorValueInfo('total_sequence_length', TENSOR_INT32, []),
  ];
  const outputs = [
    tensorValueInfo('output', TENSOR_FLOAT, ['batch', 'seq', numHeads * headDim]),
    tensorValueInfo('present_key', TENSOR_FLOAT, ['batch', kvNumHeads, 'total', headDim]),
    tensorValueInfo('present_value', TENSOR_FLOAT, ['batch', kvNumHeads, 'total', headDim]),
  ];
  // GraphProto { node = 1; name = 2; input = 11; output = 12 }
  const graph = [
    ...bytesField(1, node),
    ...stringField(2, 'group_query_attention'),
    ...inputs.flatMap((v) => bytesField(11, v)),
    ...outputs.flatMap((v) => bytesField(12, v)),
  ];
  // ModelProto { ir_version = 1; producer_name = 2; graph = 7; opset_import = 8 },
  // OperatorSetIdProto { domain = 1; version = 2 }
  const model = [
    ...intField(1, 8),
    ...stringField(2, 'node-gqa bench'),
    ...bytesField(7, graph),
    ...bytesField(8, [...stringField(1, ''), ...intField(2, 17)]),
    ...bytesField(8, [...stringField(1, 'com.microsoft'), ...intField(2, 1)]),
  ];
  return Uint8Array.from(model);
}
