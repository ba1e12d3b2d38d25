import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { DistilleryError } from '../errors.js';
import { encodeSafetensors, decodeSafetensors } from '../io/safetensors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { Rng } from '../internals/rng.js';
import { embeddingLookup } from '../ops.js';
import type { Batch, Feature, ForwardOptions, ModelInfo, ModelOutputs, Student, Teacher } from '../types.js';

/** Shape of an MlpClassifier. */
export interface MlpConfig {
  vocabSize: number;
  /** Embedding width. */
  embeddingSize: number;
  /** Width of each hidden layer (the list's length is the depth). */
  hiddenSizes: number[];
  numLabels: number;
  /** @default 42 */
  seed?: number;
}

let instances = 0;
const EMITS: ReadonlySet<Feature> = new Set(['logits']);

/**
 * A small bag-of-embeddings classifier (masked mean of token embeddings → tanh dense layers →
 * logits). It stands in for a real encoder in core's tests and examples; it emits `logits` only.
 */
export class MlpClassifier implements Student {
  readonly name: string;
  readonly info: ModelInfo;
  readonly emits = EMITS;
  readonly trainableVariables: tf.Variable[];
  private readonly embedding: tf.Variable<tf.Rank.R2>;
  private readonly layers: { w: tf.Variable; b: tf.Variable }[];

  constructor(readonly config: MlpConfig) {
    const { vocabSize, embeddingSize, hiddenSizes, numLabels, seed = 42 } = config;
    for (const [key, v] of Object.entries({ vocabSize, embeddingSize, numLabels })) {
      if (!Number.isInteger(v) || v < 1) throw new DistilleryError(`MlpClassifier: ${key} must be a positive integer, got ${v}`, 'config');
    }
    const id = ++instances;
    const rng = new Rng(seed);
    const uniform = (shape: number[], limit: number) =>
      tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rng.next() * 2 - 1) * limit), shape);
    const variable = (init: tf.Tensor, label: string) => { const v = tf.variable(init, true, `mlp${id}/${label}`); init.dispose(); return v; };
    this.embedding = variable(uniform([vocabSize, embeddingSize], 0.5), 'embedding') as tf.Variable<tf.Rank.R2>;
    const widths = [embeddingSize, ...hiddenSizes, numLabels];
    this.layers = widths.slice(1).map((out, i) => ({
      w: variable(uniform([widths[i], out], Math.sqrt(6 / (widths[i] + out))), `dense${i}/kernel`),
      b: variable(tf.zeros([out]), `dense${i}/bias`),
    }));
    this.trainableVariables = [this.embedding, ...this.layers.flatMap((l) => [l.w, l.b])];
    this.name = `mlp(${[embeddingSize, ...hiddenSizes].join('-')})`;
    this.info = { numLayers: hiddenSizes.length, hiddenSize: hiddenSizes.at(-1) ?? embeddingSize, numHeads: 1, vocabSize, numLabels };
  }

  forward(batch: Batch, features: ReadonlySet<Feature>, _options?: ForwardOptions): ModelOutputs {
    for (const f of features) {
      if (!EMITS.has(f)) throw new DistilleryError(`${this.name}: cannot emit feature '${f}' (it emits: logits)`, 'feature');
    }
    return tf.tidy(() => {
      const emb = embeddingLookup(this.embedding, batch.inputIds);                       // [B, S, E]
      const mask = tf.expandDims(tf.cast(batch.attentionMask, 'float32'), -1);           // [B, S, 1]
      let h: tf.Tensor = tf.div(tf.sum(tf.mul(emb, mask), 1), tf.maximum(tf.sum(mask, 1), 1));
      this.layers.forEach(({ w, b }, i) => {
        h = tf.add(tf.matMul(h as tf.Tensor2D, w as tf.Tensor2D), b);
        if (i < this.layers.length - 1) h = tf.tanh(h);
      });
      return { logits: h };
    });
  }

  /** Writes config.json and model.safetensors. */
  async save(dir: string): Promise<void> {
    await fs.mkdir(dir, { recursive: true });
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const v of this.trainableVariables) {
      tensors[v.name.replace(/^mlp\d+\//, '')] = { shape: [...v.shape], data: (await v.data()) as Float32Array };
    }
    await writeFileAtomic(path.join(dir, 'model.safetensors'), encodeSafetensors(tensors));
    await writeFileAtomic(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'distillery-mlp', ...this.config }, null, 2));
  }

  /** Reads a model written by save(). */
  static async load(dir: string): Promise<MlpClassifier> {
    const config = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8')) as MlpConfig;
    const model = new MlpClassifier(config);
    const file = path.join(dir, 'model.safetensors');
    const { tensors } = decodeSafetensors(new Uint8Array(await fs.readFile(file)), file);
    tf.tidy(() => {
      for (const v of model.trainableVariables) {
        const key = v.name.replace(/^mlp\d+\//, '');
        const t = tensors[key];
        if (!t) throw new DistilleryError(`${file}: missing tensor '${key}'`, 'checkpoint');
        v.assign(tf.tensor(t.data, t.shape));
      }
    });
    return model;
  }

  asTeacher(): Teacher {
    return { name: this.name, info: this.info, emits: this.emits, forward: (b, f) => this.forward(b, f) };
  }

  /** Frees the weights. */
  dispose(): void {
    tf.dispose(this.trainableVariables);
  }
}
