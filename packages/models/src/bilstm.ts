import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  describeValue, DistilleryError, parseOptions, type Batch, type ExportFormat, type Feature, type FolderFormat, type ForwardOptions,
  type MemoryEstimate, type ModelDetails, type ModelInfo, type ModelOutputs, type StepShape, type Student, type Teacher,
} from '@distillery/core';
import {
  decodeSafetensors, embeddingLookup, encodeSafetensors, linear, matMul2d, Rng, shapeText, writeDirAtomic,
} from '@distillery/core/kit';
import * as z from 'zod';
import { BILSTM_FOLDER, BILSTM_TFJS_FORMAT } from './folder-formats.js';
import { checkModelSize } from './model-size.js';
import { writeTfjsWeights } from './tfjs-format.js';

/**
 * Upper bounds of the sizes, far above the paper's (300, 150, 400): a config past them is damaged.
 * Sizes within the bounds are still checked together against the memory they need (checkBiLstmSize).
 */
export const BILSTM_SIZE_LIMITS = Object.freeze({
  vocabSize: 2 ** 24, numLabels: 2 ** 20, embeddingSize: 2 ** 16, units: 2 ** 14, denseSize: 2 ** 16,
});

const size = (key: keyof typeof BILSTM_SIZE_LIMITS, description: string) =>
  z.int().min(1).max(BILSTM_SIZE_LIMITS[key]).meta({ description: `${description} At most ${BILSTM_SIZE_LIMITS[key]}.` });

/** The sizes a BiLstmClassifier takes when its config leaves them out. */
export const BILSTM_DEFAULTS = Object.freeze({ embeddingSize: 300, units: 150, denseSize: 400, dropout: 0.1, seed: 42 });

/** The features a BiLstmClassifier emits. */
export const BILSTM_EMITS: ReadonlySet<Feature> = new Set(['logits']);
const d = BILSTM_DEFAULTS;

/** The shape of a BiLstmClassifier, with its defaults and bounds. */
export const biLstmConfigSchema = z.strictObject({
  vocabSize: size('vocabSize', 'Vocabulary size.'),
  numLabels: size('numLabels', 'Outputs of the classifier.'),
  /** Width of the word embeddings (the paper's word2vec vectors). @default 300 */
  embeddingSize: size('embeddingSize', 'Width of the word embeddings. Default 300.').default(d.embeddingSize),
  /** LSTM units per direction; the pooled encoding has twice as many. @default 150 */
  units: size('units', 'LSTM units per direction. Default 150.').default(d.units),
  /** Width of the ReLU layer before the logits. @default 400 */
  denseSize: size('denseSize', 'Width of the ReLU layer before the logits. Default 400.').default(d.denseSize),
  /** Dropout rate on the embeddings and the ReLU layer's output, in seeded training forwards; 1 would drop everything. @default 0.1 */
  dropout: z.number().min(0).lt(1).default(d.dropout).meta({ description: 'Dropout on the embeddings and the ReLU output, in [0, 1). Default 0.1.' }),
  /** Seed of the initial weights. @default 42 */
  seed: z.int().default(d.seed).meta({ description: 'Seed of the initial weights. Default 42.' }),
});

/**
 * Refuses sizes whose weights could not be allocated (one past the elements a tensor may hold, or
 * more float32 bytes than a model may take), naming them; the [8U, 2U] recurrent block every forward
 * builds counts as a weight.
 */
export function checkBiLstmSize(who: string, sizes: { vocabSize: number; numLabels: number; embeddingSize: number; units: number; denseSize: number }): void {
  const { vocabSize: V, numLabels: C, embeddingSize: E, units: U, denseSize: D } = sizes;
  checkModelSize(who, { vocabSize: V, numLabels: C, embeddingSize: E, units: U, denseSize: D }, [
    { name: 'embedding', elements: V * E, formula: 'vocabSize × embeddingSize' },
    { name: 'forward/kernel', elements: E * 4 * U, formula: 'embeddingSize × 4·units', copies: 2 },
    { name: 'forward/recurrent_kernel', elements: U * 4 * U, formula: 'units × 4·units', copies: 2 },
    { name: 'recurrent block of a forward', elements: 8 * U * 2 * U, formula: '8·units × 2·units' },
    { name: 'forward/bias', elements: 4 * U, formula: '4·units', copies: 2 },
    { name: 'dense/kernel', elements: 2 * U * D, formula: '2·units × denseSize' },
    { name: 'classifier/kernel', elements: D * C, formula: 'denseSize × numLabels' },
    { name: 'dense/bias', elements: D + C, formula: 'denseSize + numLabels' },
  ]);
}

/** The sizes of a BiLSTM folder's config.json (its model_type left out), validated naming the file. */
export function biLstmConfigOf(config: Record<string, unknown>, file: string): BiLstmConfig {
  const parsed = parseOptions(biLstmConfigSchema, config, file);
  checkBiLstmSize(file, parsed);
  return parsed;
}

/** Shape of a BiLstmClassifier (defaulted keys optional). */
export type BiLstmConfig = z.input<typeof biLstmConfigSchema>;

/** The weights of one LSTM direction; gates are laid out i, f, g, o along the last axis (as PyTorch nn.LSTM). */
interface LstmWeights {
  /** [E, 4U], PyTorch's weight_ih_l0 transposed. */
  kernel: tf.Variable<tf.Rank.R2>;
  /** [U, 4U], PyTorch's weight_hh_l0 transposed. */
  recurrent: tf.Variable<tf.Rank.R2>;
  /** [4U], PyTorch's bias_ih_l0 + bias_hh_l0. */
  bias: tf.Variable<tf.Rank.R1>;
}

/** config.json's model_type of a BiLSTM folder (save()'s, and beside a TensorFlow.js export). */
export const BILSTM_MODEL_TYPE = 'distillery-bilstm';
const MODEL_TYPE = BILSTM_MODEL_TYPE;
let instances = 0;

/**
 * The distilled BiLSTM of Tang et al. 2019 ("Distilling Task-Specific Knowledge from BERT into Simple
 * Neural Networks"), single-sentence form: embedding → one bidirectional LSTM layer → max-pooling over
 * time → ReLU dense layer → logits. Pairs are read as one sequence ([CLS] A [SEP] B [SEP]); token
 * type ids are ignored. It emits `logits` only.
 *
 * Padding (attentionMask 0) never updates either direction's state and is left out of the pooling, so
 * the backward direction starts from each row's last real token and a padded row gives the logits of
 * the same row unpadded. Weights start as PyTorch's defaults (N(0, 1) embeddings; U(±1/√fan) for the
 * LSTM and linear layers, one LSTM bias per direction instead of two).
 *
 * `info`: numLayers 1 (the BiLSTM layer), hiddenSize 2·units (the width of its per-token output),
 * numHeads 0 (no attention).
 */
export class BiLstmClassifier implements Student, ModelDetails {
  readonly name: string;
  readonly info: ModelInfo;
  readonly emits = BILSTM_EMITS;
  readonly trainableVariables: tf.Variable[];
  /** The configuration with every default filled in. */
  readonly config: z.output<typeof biLstmConfigSchema>;
  private readonly prefix: string;
  private readonly embedding: tf.Variable<tf.Rank.R2>;
  private readonly forwardLstm: LstmWeights;
  private readonly backwardLstm: LstmWeights;
  private readonly dense: { kernel: tf.Variable<tf.Rank.R2>; bias: tf.Variable<tf.Rank.R1> };
  private readonly classifier: { kernel: tf.Variable<tf.Rank.R2>; bias: tf.Variable<tf.Rank.R1> };

  constructor(config: BiLstmConfig) {
    const { vocabSize, numLabels, embeddingSize, units, denseSize, dropout, seed } =
      parseOptions(biLstmConfigSchema, config, 'BiLstmClassifier config');
    checkBiLstmSize('BiLstmClassifier config', { vocabSize, numLabels, embeddingSize, units, denseSize });
    this.config = { vocabSize, numLabels, embeddingSize, units, denseSize, dropout, seed };
    this.prefix = `bilstm${++instances}/`;
    const rng = new Rng(seed);
    const variable = <R extends tf.Rank>(label: string, shape: number[], sample: () => number): tf.Variable<R> => {
      const init = tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, sample), shape);
      const v = tf.variable(init, true, this.prefix + label) as tf.Variable<R>;
      init.dispose();
      return v;
    };
    const uniform = (fanIn: number) => () => (rng.next() * 2 - 1) / Math.sqrt(fanIn);
    const lstm = (dir: string): LstmWeights => ({
      kernel: variable(`${dir}/kernel`, [embeddingSize, 4 * units], uniform(units)),
      recurrent: variable(`${dir}/recurrent_kernel`, [units, 4 * units], uniform(units)),
      bias: variable(`${dir}/bias`, [4 * units], uniform(units)),
    });
    this.embedding = variable('embedding', [vocabSize, embeddingSize], () => rng.normal());
    this.forwardLstm = lstm('forward');
    this.backwardLstm = lstm('backward');
    this.dense = {
      kernel: variable('dense/kernel', [2 * units, denseSize], uniform(2 * units)),
      bias: variable('dense/bias', [denseSize], uniform(2 * units)),
    };
    this.classifier = {
      kernel: variable('classifier/kernel', [denseSize, numLabels], uniform(denseSize)),
      bias: variable('classifier/bias', [numLabels], uniform(denseSize)),
    };
    const { forwardLstm: f, backwardLstm: b } = this;
    this.trainableVariables = [
      this.embedding, f.kernel, f.recurrent, f.bias, b.kernel, b.recurrent, b.bias,
      this.dense.kernel, this.dense.bias, this.classifier.kernel, this.classifier.bias,
    ];
    this.name = `bilstm(${embeddingSize}x${units})`;
    this.info = { numLayers: 1, hiddenSize: 2 * units, numHeads: 0, vocabSize, numLabels };
  }

  /**
   * The bytes a forward of this shape holds besides the weights, in float32 tensors: one tidy keeps
   * every time step's gates and states (about 160·units a row and token, with the embeddings);
   * training keeps about 3.5 times as much a token for the backward pass, plus each time step's
   * gradient of the [8U, 2U] recurrent block (about 80·units² a step, whatever the batch). Fitted to
   * tf.profile's peak on the CPU backend; errs high by at most about 2× (memory.test.ts).
   */
  estimateMemory(shape: StepShape): MemoryEstimate {
    const { batchSize: B, sequenceLength: S, training } = shape;
    const { embeddingSize: E, units: U, denseSize: D } = this.config;
    const floats = training ? S * 80 * U * U + 4 * B * S * (3 * E + 64 * U) : B * S * (E + 160 * U);
    // Training adds the weights' gradients.
    const gradients = training ? this.trainableVariables.reduce((n, v) => n + v.size, 0) : 0;
    return { bytes: 4 * (floats + 4 * B * (D + 2 * U) + gradients),
      detail: `${training ? 'activations and gradients' : 'one forward'} of a BiLSTM of ${U} units a direction over ${E}-wide embeddings at ${B} × ${S} tokens` };
  }

  /** Logits [B, numLabels]; dropout applies only when `training` is on and a `seed` is given. */
  forward(batch: Batch, features: ReadonlySet<Feature>, options: ForwardOptions = {}): ModelOutputs {
    for (const f of features) {
      if (!BILSTM_EMITS.has(f)) throw new DistilleryError(`${this.name}: cannot emit feature '${f}' (it emits: logits)`, 'feature');
    }
    const { inputIds, attentionMask } = batch;
    if (inputIds.rank !== 2 || attentionMask.rank !== 2 || inputIds.shape.some((d, i) => d !== attentionMask.shape[i]) ||
      inputIds.shape[1] === 0) {
      throw new DistilleryError(`${this.name}: inputIds ${shapeText(inputIds.shape)} and attentionMask ` +
        `${shapeText(attentionMask.shape)} must both be [B, S] with S >= 1`, 'shape');
    }
    const { training = false, seed } = options;
    const rate = training && seed !== undefined ? this.config.dropout : 0;
    const drop = (x: tf.Tensor, label: string) => (rate > 0 ? tf.dropout(x, rate, undefined, Rng.derive(seed!, label).nextUint32()) : x);
    return tf.tidy(() => {
      const [b, s] = inputIds.shape;
      const u = this.config.units;
      const x = drop(embeddingLookup(this.embedding, tf.transpose(inputIds)), 'embedding');    // [S, B, E]
      const mask = tf.reshape(tf.cast(tf.transpose(attentionMask), 'float32'), [s, 1, b]);    // [S, 1, B]
      const unitMask = tf.tile(mask, [1, u, 1]);                                                // [S, U, B]
      const stepMask = tf.concat([unitMask, tf.reverse(unitMask, 0)], 1);                       // [S, 2U, B]
      const states = this.recur(x, tf.unstack(stepMask));                                       // [S, 2U, B]
      // tanh·sigmoid keeps states in (-1, 1): a -1e4 offset keeps padding out of the max; rows with no token pool to 0.
      const pooled = tf.max(tf.add(states, tf.mul(tf.sub(stepMask, 1), 1e4)), 0);              // [2U, B]
      const encoded = tf.transpose(tf.mul(pooled, tf.max(mask, 0)));                           // [B, 2U]
      const hidden = drop(tf.relu(linear(encoded, this.dense.kernel, this.dense.bias)), 'dense');
      return { logits: linear(hidden, this.classifier.kernel, this.classifier.bias) };
    });
  }

  /**
   * Both directions at once, time-major and features × batch: at loop step k, rows [0, U) of the state
   * are the forward direction at time k and rows [U, 2U) the backward one at time S-1-k; each gate's
   * pre-activation [2U, B] is a contiguous block. The recurrent product is one plain 2-D matMul with a
   * block-diagonal [8U, 2U] matrix (fast on wasm, unlike batched or transposed products). Masked steps
   * carry the previous state through. Returns the states per loop step, [S, 2U, B].
   */
  private recur(x: tf.Tensor, stepMasks: tf.Tensor[]): tf.Tensor {
    const [s, b] = x.shape;
    const u = this.config.units;
    const { forwardLstm: fw, backwardLstm: bw } = this;
    // [S, B, E] → [S, 4 gates, U, B], the backward one in reversed time, then [S, 8U, B] gate-major.
    const project = (w: LstmWeights) => tf.transpose(tf.reshape(linear(x, w.kernel, w.bias), [s, b, 4, u]), [0, 2, 3, 1]);
    const inputs = tf.unstack(tf.reshape(tf.concat([project(fw), tf.reverse(project(bw), 0)], 2), [s, 8 * u, b]));
    const perGate = (w: LstmWeights) => tf.reshape(tf.transpose(w.recurrent), [4, u, u]);     // [gate, out, in]
    const zero = tf.zeros([4, u, u]);
    const recurrent = tf.reshape(tf.concat([tf.concat([perGate(fw), zero], 2), tf.concat([zero, perGate(bw)], 2)], 1),
      [8 * u, 2 * u]) as tf.Tensor2D;
    let h: tf.Tensor = tf.zeros([2 * u, b]);
    let c: tf.Tensor = tf.zeros([2 * u, b]);
    const out: tf.Tensor[] = [];
    for (let k = 0; k < s; k++) {
      const z = tf.add(inputs[k], matMul2d(recurrent, h as tf.Tensor2D));                     // [8U, B]
      const [i, f, g, o] = tf.split(z, 4, 0);
      const cNext = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
      const hNext = tf.mul(tf.sigmoid(o), tf.tanh(cNext));
      c = tf.add(c, tf.mul(stepMasks[k], tf.sub(cNext, c)));
      h = tf.add(h, tf.mul(stepMasks[k], tf.sub(hNext, h)));
      out.push(h);
    }
    return tf.stack(out);
  }

  /** The weights by their saved names ('embedding', 'forward/kernel', ..., 'classifier/bias'). */
  namedWeights(): Map<string, tf.Variable> {
    return new Map(this.trainableVariables.map((v) => [v.name.slice(this.prefix.length), v]));
  }

  /** Number of trainable parameters. */
  parameterCount(): number {
    return this.trainableVariables.reduce((n, v) => n + v.size, 0);
  }

  /** Writes config.json and model.safetensors to `dir`, atomically. */
  async save(dir: string): Promise<void> {
    await writeDirAtomic(dir, (tmp) => this.writeFolder(tmp));
  }

  /** What save() writes. */
  get savedFormat(): FolderFormat { return BILSTM_FOLDER; }

  /** Parameters of the embedding, the LSTM (both directions), the dense layer and the classifier. */
  parameterParts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const [name, v] of this.namedWeights()) {
      const part = name.startsWith('forward/') || name.startsWith('backward/') ? 'lstm' : name.split('/')[0];
      counts[part] = (counts[part] ?? 0) + v.size;
    }
    return counts;
  }

  /**
   * 'hf': save()'s folder (its own config.json; transformers has no class for it); 'tfjs': model.json in
   * format 'distillery/bilstm' and weight shards, with save()'s config.json beside them.
   */
  async exportTo(format: ExportFormat, dir: string): Promise<{ note?: string }> {
    if (format === 'hf') {
      await this.writeFolder(dir);
      return { note: 'a BiLSTM: its own config; transformers has no class for it' };
    }
    await writeTfjsWeights(dir, this.namedWeights(), { format: BILSTM_TFJS_FORMAT });
    await fs.writeFile(path.join(dir, 'config.json'), `${JSON.stringify({ model_type: MODEL_TYPE, ...this.config }, null, 2)}\n`);
    return {};
  }

  private async writeFolder(dir: string): Promise<void> {
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [key, v] of this.namedWeights()) tensors[key] = { shape: [...v.shape], data: (await v.data()) as Float32Array };
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ model_type: MODEL_TYPE, ...this.config }, null, 2));
    await fs.writeFile(path.join(dir, 'model.safetensors'), encodeSafetensors(tensors, { format: MODEL_TYPE }));
  }

  /** Reads a model written by save(). */
  static async load(dir: string): Promise<BiLstmClassifier> {
    const configFile = path.join(dir, 'config.json');
    let config: BiLstmConfig & { model_type?: string };
    try {
      config = JSON.parse(await fs.readFile(configFile, 'utf8'));
    } catch (cause) {
      throw new DistilleryError(`BiLstmClassifier.load: cannot read ${configFile}: ${(cause as Error).message}`, 'checkpoint', { cause });
    }
    if (config === null || typeof config !== 'object' || Array.isArray(config)) {
      throw new DistilleryError(`BiLstmClassifier.load: ${configFile} holds ${describeValue(config)}, expected an object ` +
        `with model_type '${MODEL_TYPE}'`, 'checkpoint');
    }
    if (config.model_type !== MODEL_TYPE) {
      throw new DistilleryError(`BiLstmClassifier.load: ${configFile} has model_type ${JSON.stringify(config.model_type)}, ` +
        `expected '${MODEL_TYPE}'`, 'checkpoint');
    }
    const { model_type: _, ...rest } = config;
    const model = new BiLstmClassifier(biLstmConfigOf(rest, configFile));
    const file = path.join(dir, 'model.safetensors');
    try {
      const { tensors } = decodeSafetensors(new Uint8Array(await fs.readFile(file)), file);
      for (const [key, v] of model.namedWeights()) {
        const t = tensors[key];
        if (!t) throw new DistilleryError(`${file}: missing tensor '${key}'`, 'checkpoint');
        if (t.shape.length !== v.rank || t.shape.some((d, i) => d !== v.shape[i])) {
          throw new DistilleryError(`${file}: tensor '${key}' has shape ${shapeText(t.shape)}, the config gives ${shapeText(v.shape)}`,
            'checkpoint');
        }
        tf.tidy(() => v.assign(tf.tensor(t.data, t.shape, 'float32')));
      }
    } catch (error) {
      model.dispose();
      if (error instanceof DistilleryError) throw error;
      throw new DistilleryError(`BiLstmClassifier.load: cannot read ${file}: ${(error as Error).message}`, 'checkpoint', { cause: error });
    }
    return model;
  }

  /** A frozen view (inference forwards only), for pipelines. */
  asTeacher(): Teacher {
    return {
      name: this.name, info: this.info, emits: this.emits, forward: (b, f) => this.forward(b, f),
      estimateMemory: (shape) => this.estimateMemory({ ...shape, training: false }),
    };
  }

  /** Frees the weights. */
  dispose(): void {
    tf.dispose(this.trainableVariables);
  }
}
