// A jest environment whose typed array constructors are Node's own. Native addons that create typed arrays
// (onnxruntime-node's outputs) make them in Node's realm, and libraries that check `instanceof Float32Array`
// against jest's sandbox constructors then reject them.
const { TestEnvironment } = require('jest-environment-node');

const TYPED_ARRAYS = [
  'ArrayBuffer', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
];

class NodeTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED_ARRAYS) this.global[name] = globalThis[name];
  }
}

module.exports = NodeTypedArraysEnvironment;
