// The benchmark's CPU peer: onnxruntime-node running com.microsoft GroupQueryAttention on its CPU provider.
// onnxruntime-node is an optional peer dependency, so it is loaded at run time and described by the few types used
// here (the benchmark compiles and runs without it).
import * as path from 'path';
import { packageRoot } from '../../lib/loader';
import { gqaModel } from './onnx-gqa-model';

interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
}

interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

interface OrtModule {
  Tensor: new (type: 'float32' | 'int32', data: Float32Array | Int32Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(model: Uint8Array, options: object): Promise<OrtSession> };
  env: { versions?: { common?: string } };
}

export const ORT_INSTALL_HINT = 'npm run bench:install-peer';

// Where `npm run bench:install-peer` puts it: a folder of its own, since npm 11 will not add to node_modules a
// package that package.json names as an optional peer dependency (`npm install --no-save onnxruntime-node` reports
// "up to date" and installs nothing).
const PEER_FOLDER = path.join(packageRoot(), '.bench-peer', 'node_modules', 'onnxruntime-node');

/** onnxruntime-node when it is installed, in node_modules or the peer folder; undefined when it is not (any other
 * load error is thrown). */
export function loadOrt(): OrtModule | undefined {
  for (const id of ['onnxruntime-node', PEER_FOLDER]) {
    try {
      return require(id) as OrtModule;
    } catch (err) {
      if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND' || !String((err as Error).message).includes(`'${id}'`)) throw err;
    }
  }
  return undefined;
}

export interface GqaHeads {
  heads: number;     // Hq
  kvHeads: number;   // Hkv
  headDim: number;
}

export interface GqaShape extends GqaHeads {
  batch: number;
}

/** The peer's inputs for one call: q's new tokens, K/V's new tokens and the K/V cache in front of them. */
export interface PeerInputs {
  batch: number;
  query: Float32Array;      // [B, S, Hq*D]
  key: Float32Array;        // [B, S, Hkv*D]
  value: Float32Array;
  pastKey: Float32Array;    // [B, Hkv, P, D]
  pastValue: Float32Array;
  newTokens: number;        // S
  pastTokens: number;       // P
}

/** Splits BSHD K or V of `total` keys into the peer's BNSH cache of the first `past` keys and BSHD new keys. */
export function splitCache(kv: Float32Array, shape: GqaShape, total: number, past: number): { past: Float32Array; fresh: Float32Array } {
  const { batch, kvHeads, headDim } = shape;
  const rowWidth = kvHeads * headDim;
  const cache = new Float32Array(batch * kvHeads * past * headDim);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < past; j++) {
      for (let h = 0; h < kvHeads; h++) {
        const from = (b * total + j) * rowWidth + h * headDim;
        cache.set(kv.subarray(from, from + headDim), ((b * kvHeads + h) * past + j) * headDim);
      }
    }
  }
  const fresh = new Float32Array(batch * (total - past) * rowWidth);
  for (let b = 0; b < batch; b++) {
    fresh.set(kv.subarray((b * total + past) * rowWidth, (b + 1) * total * rowWidth), b * (total - past) * rowWidth);
  }
  return { past: cache, fresh };
}

/** One onnxruntime session holding the GroupQueryAttention model, on `threads` intra-op threads. */
export class OrtGqa {
  private constructor(private readonly ort: OrtModule, private readonly session: OrtSession, private readonly shape: GqaHeads) {}

  static async create(ort: OrtModule, shape: GqaHeads, threads: number): Promise<OrtGqa> {
    const model = gqaModel({ numHeads: shape.heads, kvNumHeads: shape.kvHeads, headDim: shape.headDim, scale: 1 / Math.sqrt(shape.headDim) });
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return new OrtGqa(ort, session, shape);
  }

  /** Tensors for one call; made once per input set so that timed runs measure the operator, not the wrapping. */
  feeds(inputs: PeerInputs): Record<string, OrtTensor> {
    const { heads, kvHeads, headDim } = this.shape;
    const { batch, newTokens: s, pastTokens: p } = inputs;
    const total = p + s;
    return {
      query: new this.ort.Tensor('float32', inputs.query, [batch, s, heads * headDim]),
      key: new this.ort.Tensor('float32', inputs.key, [batch, s, kvHeads * headDim]),
      value: new this.ort.Tensor('float32', inputs.value, [batch, s, kvHeads * headDim]),
      past_key: new this.ort.Tensor('float32', inputs.pastKey, [batch, kvHeads, p, headDim]),
      past_value: new this.ort.Tensor('float32', inputs.pastValue, [batch, kvHeads, p, headDim]),
      seqlens_k: new this.ort.Tensor('int32', new Int32Array(batch).fill(total - 1), [batch]),
      total_sequence_length: new this.ort.Tensor('int32', Int32Array.of(total), []),
    };
  }

  /** Runs the node; returns its attention output [B, S, Hq*D]. */
  async run(feeds: Record<string, OrtTensor>): Promise<Float32Array> {
    const result = await this.session.run(feeds);
    return result.output.data as Float32Array;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
