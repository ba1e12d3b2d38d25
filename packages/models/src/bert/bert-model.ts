import * as tf from '@tensorflow/tfjs-core';
import { ALL_FEATURES, DistilleryError } from '@distillery/core';
import { Rng, embeddingLookup, linear, maskedTokens, shapeText } from '@distillery/core/kit';
import type {
  Batch, ExportFormat, Feature, FolderFormat, ForwardOptions, MemoryEstimate, ModelDetails, ModelInfo, ModelOutputs, StepShape, Student, Teacher,
} from '@distillery/core';
import { BERT_HF_FOLDER } from '../folder-formats.js';
import { headsFromArchitectures, resolveBertConfig } from './config.js';
import type { BertConfig, BertConfigInput, BertHead } from './config.js';
import { bertEmits, bertInfo } from './describe.js';
import { bertMemory } from './memory.js';
import { saveBertToHf } from './hf-checkpoint.js';
import { writeBertTfjs } from './tfjs-model.js';
import { Dropout, activation, layerNorm, maskGradient } from './internals/layers.js';

/** How a BertModel is built beyond its config. */
export interface BertModelOptions {
  /** Output heads. @default from config.architectures, else ['classification'] */
  heads?: readonly BertHead[];
  /** Seeds the weight initialisation (and dropout when forward() gets no seed). @default 42 */
  seed?: number;
  /** Draw the initial weights; false leaves them zero, for weights about to be overwritten (a checkpoint). @default true */
  initialize?: boolean;
}

/** One encoder layer's weights, typed for linear() (the same objects as in `weights`). */
interface LayerWeights {
  query: tf.Tensor2D; queryBias: tf.Tensor1D; key: tf.Tensor2D; keyBias: tf.Tensor1D;
  value: tf.Tensor2D; valueBias: tf.Tensor1D;
  attnOut: tf.Tensor2D; attnOutBias: tf.Tensor1D; attnNormGamma: tf.Tensor1D; attnNormBeta: tf.Tensor1D;
  inter: tf.Tensor2D; interBias: tf.Tensor1D; out: tf.Tensor2D; outBias: tf.Tensor1D;
  outNormGamma: tf.Tensor1D; outNormBeta: tf.Tensor1D;
}

const PER_LAYER = ['attentionScores', 'attentionProbs', 'queries', 'keys', 'values'] as const;

const WORDS = 'bert.embeddings.word_embeddings.weight';
let instances = 0;
const frozenViews = new WeakMap<object, BertModel>();

/**
 * A BERT encoder (post-layer-norm, as Hugging Face's BertModel) with an optional sequence
 * classification head (pooler + classifier, as BertForSequenceClassification) and an optional
 * masked-LM head (as BertForMaskedLM, decoder tied to the word embeddings). Built on
 * @tensorflow/tfjs-core ops, differentiable w.r.t. trainableVariables.
 */
export class BertModel implements Student, ModelDetails {
  /** e.g. 'bert(4x256)': layers × hidden size. */
  readonly name: string;
  /** Depth, width, heads, vocabulary and (with a classification head) label count. */
  readonly info: ModelInfo;
  /** The encoder features, plus logits / mlmLogits for the heads it carries. */
  readonly emits: ReadonlySet<Feature>;
  /** The resolved Hugging Face config. */
  readonly config: BertConfig;
  /** The output heads this model carries. */
  readonly heads: readonly BertHead[];
  /** Every weight by its Hugging Face parameter name, in tfjs layout (linear kernels [in, out]). */
  readonly weights: Map<string, tf.Variable>;
  /** The same variables as `weights`, in a fixed order (checkpoints address them by index). */
  readonly trainableVariables: tf.Variable[];
  private readonly layers: LayerWeights[];
  private readonly fallbackDropout: Rng;
  private readonly seed: number;
  private disposed = false;

  constructor(config: BertConfigInput, options: BertModelOptions = {}) {
    const { seed = 42, initialize = true } = options;
    this.seed = seed;
    this.config = resolveBertConfig(config);
    const heads = options.heads ?? headsFromArchitectures(config.architectures) ?? ['classification'];
    for (const h of heads) {
      if (h !== 'classification' && h !== 'mlm') {
        throw new DistilleryError(`bert: unknown head ${JSON.stringify(h)}; expected 'classification' or 'mlm'`, 'config');
      }
    }
    this.heads = [...new Set(heads)];
    const c = this.config;
    const H = c.hidden_size;
    const prefix = `bert${++instances}/`;
    this.weights = new Map();
    const param = (name: string, shape: number[]) => {
      const initial = initialize ? tf.tensor(this.initialValues(name, shape), shape) : tf.zeros(shape);
      const v = tf.variable(initial, true, prefix + name);
      initial.dispose();
      this.weights.set(name, v);
      return v;
    };
    const dense = (name: string, inSize: number, outSize: number) => [
      param(`${name}.weight`, [inSize, outSize]) as tf.Tensor as tf.Tensor2D,
      param(`${name}.bias`, [outSize]) as tf.Tensor as tf.Tensor1D,
    ] as const;
    const norm = (name: string) => [
      param(`${name}.weight`, [H]) as tf.Tensor as tf.Tensor1D,
      param(`${name}.bias`, [H]) as tf.Tensor as tf.Tensor1D,
    ] as const;

    param(WORDS, [c.vocab_size, H]);
    param('bert.embeddings.position_embeddings.weight', [c.max_position_embeddings, H]);
    param('bert.embeddings.token_type_embeddings.weight', [c.type_vocab_size, H]);
    norm('bert.embeddings.LayerNorm');
    this.layers = Array.from({ length: c.num_hidden_layers }, (_, n) => {
      const p = `bert.encoder.layer.${n}.`;
      const [query, queryBias] = dense(`${p}attention.self.query`, H, H);
      const [key, keyBias] = dense(`${p}attention.self.key`, H, H);
      const [value, valueBias] = dense(`${p}attention.self.value`, H, H);
      const [attnOut, attnOutBias] = dense(`${p}attention.output.dense`, H, H);
      const [attnNormGamma, attnNormBeta] = norm(`${p}attention.output.LayerNorm`);
      const [inter, interBias] = dense(`${p}intermediate.dense`, H, c.intermediate_size);
      const [out, outBias] = dense(`${p}output.dense`, c.intermediate_size, H);
      const [outNormGamma, outNormBeta] = norm(`${p}output.LayerNorm`);
      return {
        query, queryBias, key, keyBias, value, valueBias, attnOut, attnOutBias, attnNormGamma, attnNormBeta,
        inter, interBias, out, outBias, outNormGamma, outNormBeta,
      };
    });
    if (this.heads.includes('classification')) {
      dense('bert.pooler.dense', H, H);
      dense('classifier', H, c.num_labels);
    }
    if (this.heads.includes('mlm')) {
      dense('cls.predictions.transform.dense', H, H);
      norm('cls.predictions.transform.LayerNorm');
      param('cls.predictions.bias', [c.vocab_size]);
    }
    this.trainableVariables = [...this.weights.values()];
    this.fallbackDropout = Rng.derive(seed, 'dropout');
    this.name = `bert(${c.num_hidden_layers}x${H})`;
    this.info = bertInfo(c, this.heads);
    this.emits = bertEmits(this.heads);
  }

  /** The weight with this Hugging Face name; fails naming it when the model has none. */
  weight(name: string): tf.Variable {
    const v = this.weights.get(name);
    if (!v) throw new DistilleryError(`${this.name}: has no weight '${name}'`, 'config');
    return v;
  }

  /**
   * HF's `_init_weights`: normal(0, initializer_range) kernels and embeddings (padding row zero),
   * zero biases, unit LayerNorm scales. Each weight's draw depends only on the seed and its name.
   */
  private initialValues(name: string, shape: number[]): Float32Array {
    const c = this.config;
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.endsWith('LayerNorm.weight')) return values.fill(1);
    if (name.endsWith('.bias')) return values;
    const rng = Rng.derive(this.seed, name);
    // Marsaglia's polar method: two normals per accepted pair, no trigonometry (bert-base has 110M weights).
    for (let i = 0; i < values.length; i += 2) {
      let u: number, v: number, s: number;
      do {
        u = 2 * rng.next() - 1;
        v = 2 * rng.next() - 1;
        s = u * u + v * v;
      } while (s >= 1 || s === 0);
      const f = Math.sqrt(-2 * Math.log(s) / s) * c.initializer_range;
      values[i] = u * f;
      if (i + 1 < values.length) values[i + 1] = v * f;
    }
    if (name === WORDS) values.fill(0, c.pad_token_id * c.hidden_size, (c.pad_token_id + 1) * c.hidden_size);
    return values;
  }

  /** Draws the named weights (all by default) afresh, as at construction with this model's seed. */
  resetWeights(names: Iterable<string> = this.weights.keys()): void {
    for (const name of names) {
      const v = this.weight(name);
      tf.tidy(() => v.assign(tf.tensor(this.initialValues(name, [...v.shape]), v.shape)));
    }
  }

  /** What save() writes: a Hugging Face folder. */
  get savedFormat(): FolderFormat { return BERT_HF_FOLDER; }

  /** Label names from id2label, unless they are only HF's LABEL_n placeholders (or there is no classification head). */
  labelNames(): string[] | undefined {
    if (!this.heads.includes('classification')) return undefined;
    const names = Array.from({ length: this.config.num_labels }, (_, i) => this.config.id2label[String(i)]);
    return names.every((n, i) => typeof n === 'string' && n !== `LABEL_${i}`) ? names : undefined;
  }

  /** Parameters of the embeddings, the encoder and each head. */
  parameterParts(): Record<string, number> {
    const partOf = (name: string) => {
      if (name.startsWith('bert.embeddings.')) return 'embeddings';
      if (name.startsWith('bert.encoder.')) return 'encoder';
      if (name.startsWith('bert.pooler.') || name.startsWith('classifier.')) return 'classification head';
      return 'masked-LM head';
    };
    const counts: Record<string, number> = {};
    for (const [name, v] of this.weights) counts[partOf(name)] = (counts[partOf(name)] ?? 0) + v.size;
    return counts;
  }

  /** 'hf': saveBertToHf's folder (transformers loads it); 'tfjs': writeBertTfjs's ('distillery-bert'). */
  async exportTo(format: ExportFormat, dir: string): Promise<void> {
    if (format === 'hf') await saveBertToHf(this, dir);
    else await writeBertTfjs(this, dir);
  }

  /** The number of scalar parameters (the tied masked-LM decoder counted once, as the word embeddings). */
  parameterCount(): number {
    let total = 0;
    for (const v of this.weights.values()) total += v.size;
    return total;
  }

  /** The bytes a forward of this shape holds besides the weights (bert/memory.ts); a stage checks it before its first step. */
  estimateMemory(shape: StepShape): MemoryEstimate {
    return bertMemory(this.config, shape, this.parameterCount());
  }

  /**
   * Computes exactly the requested features (nothing else stays alive). Dropout runs only when
   * `training`; its masks follow `seed`, so the same seed repeats a pass exactly.
   */
  forward(batch: Batch, features: ReadonlySet<Feature>, options: ForwardOptions = {}): ModelOutputs {
    if (this.disposed) throw new DistilleryError(`${this.name}: forward() after dispose()`, 'config');
    for (const f of features) {
      if (!(ALL_FEATURES as readonly string[]).includes(f)) {
        throw new DistilleryError(
          `${this.name}: unknown feature '${f}'; features are ${ALL_FEATURES.join(', ')}`, 'feature');
      }
      if (!this.emits.has(f)) {
        const why = f === 'logits' ? 'it has no sequence-classification head' : 'it has no masked-LM head';
        throw new DistilleryError(
          `${this.name}: cannot emit feature '${f}' (${why}; it emits: ${[...this.emits].join(', ')})`, 'feature');
      }
    }
    if (features.size === 0) return {};
    const [B, S] = this.checkBatch(batch);
    if (features.has('mlmMaskedLogits') && !batch.mlmLabels) {
      throw new DistilleryError(`${this.name}: feature 'mlmMaskedLogits' needs the batch's mlmLabels ([B, S], −100 where ` +
        `not masked), and the batch has none`, 'feature');
    }
    if (batch.mlmLabels && features.has('mlmMaskedLogits') &&
        (batch.mlmLabels.shape[0] !== B || batch.mlmLabels.shape[1] !== S)) {
      throw new DistilleryError(`${this.name}: batch mlmLabels ${shapeText(batch.mlmLabels.shape)} does not fit its ` +
        `inputIds ${shapeText([B, S])}`, 'shape');
    }
    const training = options.training ?? false;
    const seed = options.seed ?? (training ? this.fallbackDropout.nextUint32() : 0);
    const drop = new Dropout(training, seed);
    const c = this.config;
    const H = c.hidden_size;
    const w = (name: string) => this.weight(name) as tf.Tensor as tf.Tensor2D;
    const b = (name: string) => this.weight(name) as tf.Tensor as tf.Tensor1D;

    return tf.tidy(() => {
      const out: ModelOutputs = {};
      const hidden: tf.Tensor[] = [];
      const perLayer: Record<(typeof PER_LAYER)[number], tf.Tensor[]> = {
        attentionScores: [], attentionProbs: [], queries: [], keys: [], values: [],
      };

      // Embeddings: word + token type + position, LayerNorm, dropout.
      // PyTorch's padding_idx: the padding token's row takes no gradient (it still takes part in the forward pass).
      const notPad = tf.expandDims(tf.cast(tf.notEqual(batch.inputIds, c.pad_token_id), 'float32'), -1);
      let x = maskGradient(embeddingLookup(w(WORDS), batch.inputIds), notPad);
      const types = w('bert.embeddings.token_type_embeddings.weight');
      x = tf.add(x, batch.tokenTypeIds ? embeddingLookup(types, batch.tokenTypeIds) : tf.slice(types, [0, 0], [1, H]));
      x = tf.add(x, tf.slice(w('bert.embeddings.position_embeddings.weight'), [0, 0], [S, H]));
      x = layerNorm(x, b('bert.embeddings.LayerNorm.weight'), b('bert.embeddings.LayerNorm.bias'), c.layer_norm_eps);
      x = drop.apply(x, c.hidden_dropout_prob, 'embeddings');
      hidden.push(x);

      // HF's extended attention mask: 0 for tokens, −10000 for padding, added to every query row.
      const maskAdd = tf.reshape(tf.mul(tf.sub(1, tf.cast(batch.attentionMask, 'float32')), -10000), [B, 1, 1, S]);
      for (let n = 0; n < this.layers.length; n++) {
        // Each layer in its own tidy: without a gradient tape its intermediates are freed as it ends,
        // so inference holds one layer's attention maps at a time; under a tape, tfjs keeps what the
        // backward pass needs by itself.
        const kept = tf.tidy(() => {
          const layer = this.encoderLayer(n, x, maskAdd, drop, B, S);
          const result: Record<string, tf.Tensor> = { x: layer.x };
          for (const f of PER_LAYER) if (features.has(f)) result[f] = layer[f];
          return result;
        });
        x = kept.x;
        hidden.push(x);
        for (const f of PER_LAYER) if (kept[f]) perLayer[f].push(kept[f]);
      }

      if (features.has('hidden')) out.hidden = hidden;
      for (const f of PER_LAYER) if (features.has(f)) out[f] = perLayer[f];

      if (features.has('logits')) {
        const first = tf.reshape(tf.slice(x, [0, 0, 0], [B, 1, H]), [B, H]);
        const pooled = tf.tanh(linear(first, w('bert.pooler.dense.weight'), b('bert.pooler.dense.bias')));
        const dropped = drop.apply(pooled, c.classifier_dropout ?? c.hidden_dropout_prob, 'classifier');
        out.logits = linear(dropped, w('classifier.weight'), b('classifier.bias'));
      }
      if (features.has('mlmLogits') || features.has('mlmMaskedLogits')) {
        const head = (h: tf.Tensor) => {
          const t = layerNorm(
            activation(linear(h, w('cls.predictions.transform.dense.weight'), b('cls.predictions.transform.dense.bias')),
              c.hidden_act),
            b('cls.predictions.transform.LayerNorm.weight'), b('cls.predictions.transform.LayerNorm.bias'), c.layer_norm_eps);
          const decoder = tf.transpose(w(WORDS)) as tf.Tensor2D;  // tied, [H, V]
          return linear(t, decoder, b('cls.predictions.bias'));
        };
        if (features.has('mlmLogits')) out.mlmLogits = head(x);
        // Only the masked rows: the vocabulary projection is most of an MLM step's work.
        if (features.has('mlmMaskedLogits')) out.mlmMaskedLogits = head(embeddingLookup(
          tf.reshape(x, [B * S, H]) as tf.Tensor2D, tf.tensor1d(maskedTokens(batch.mlmLabels!).positions, 'int32')));
      }
      return out as tf.TensorContainer;
    }) as ModelOutputs;
  }

  /** One post-LN encoder layer (HF BertLayer): self-attention, add & norm, feed-forward, add & norm. */
  private encoderLayer(n: number, x: tf.Tensor, maskAdd: tf.Tensor, drop: Dropout, B: number, S: number) {
    const c = this.config;
    const L = this.layers[n];
    const H = c.hidden_size, A = c.num_attention_heads, d = H / A;
    const splitHeads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, S, A, d]), [0, 2, 1, 3]);  // [B, A, S, d]
    const queries = splitHeads(linear(x, L.query, L.queryBias));
    const keys = splitHeads(linear(x, L.key, L.keyBias));
    const values = splitHeads(linear(x, L.value, L.valueBias));
    // Batched products stay tfjs's own: on wasm they are slow with or without transposed operands
    // (1-2 GFLOP/s), and an explicit-transpose gradient measured no faster here.
    const attentionScores = tf.add(tf.div(tf.matMul(queries, keys, false, true), Math.sqrt(d)), maskAdd);  // [B, A, S, S]
    const attentionProbs = tf.softmax(attentionScores);
    const context = tf.matMul(drop.apply(attentionProbs, c.attention_probs_dropout_prob, `layer${n}.attention`), values);
    const merged = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [B, S, H]);
    const attended = drop.apply(linear(merged, L.attnOut, L.attnOutBias), c.hidden_dropout_prob, `layer${n}.attention.output`);
    const x1 = layerNorm(tf.add(attended, x), L.attnNormGamma, L.attnNormBeta, c.layer_norm_eps);
    const inner = activation(linear(x1, L.inter, L.interBias), c.hidden_act);
    const projected = drop.apply(linear(inner, L.out, L.outBias), c.hidden_dropout_prob, `layer${n}.output`);
    const out = layerNorm(tf.add(projected, x1), L.outNormGamma, L.outNormBeta, c.layer_norm_eps);
    return { x: out, attentionScores, attentionProbs, queries, keys, values };
  }

  private checkBatch(batch: Batch): [number, number] {
    const ids = batch.inputIds;
    if (!ids || ids.rank !== 2) {
      throw new DistilleryError(`${this.name}: batch.inputIds must be [B, S], got ${ids ? shapeText(ids.shape) : ids}`, 'shape');
    }
    const [B, S] = ids.shape;
    for (const key of ['attentionMask', 'tokenTypeIds'] as const) {
      const t = batch[key];
      if (t === undefined && key === 'tokenTypeIds') continue;
      if (!t || t.shape.length !== 2 || t.shape[0] !== B || t.shape[1] !== S) {
        throw new DistilleryError(
          `${this.name}: batch.${key} ${t ? shapeText(t.shape) : t} does not match batch.inputIds ${shapeText(ids.shape)}`,
          'shape');
      }
    }
    if (S > this.config.max_position_embeddings) {
      throw new DistilleryError(
        `${this.name}: sequence length ${S} exceeds max_position_embeddings ${this.config.max_position_embeddings}`, 'shape');
    }
    // An id outside its embedding table would fail deep inside tfjs (GatherV2) without saying which input is wrong.
    for (const [key, configKey] of [['inputIds', 'vocab_size'], ['tokenTypeIds', 'type_vocab_size']] as const) {
      const t = batch[key];
      if (!t) continue;
      const size = this.config[configKey];
      const values = t.dataSync();
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (v >= 0 && v < size && Number.isInteger(v)) continue;
        throw new DistilleryError(`${this.name}: batch.${key} holds ${v} at [${Math.floor(i / S)}, ${i % S}], outside ` +
          `0..${size - 1} (config ${configKey} ${size})`, 'data');
      }
    }
    return [B, S];
  }

  /** A frozen view: forward always runs in inference mode and no variables are exposed. */
  asTeacher(): Teacher {
    const view: Teacher = {
      name: this.name,
      info: this.info,
      emits: this.emits,
      forward: (batch, features) => this.forward(batch, features, { training: false }),
      estimateMemory: (shape) => this.estimateMemory({ ...shape, training: false }),
    };
    frozenViews.set(view, this);
    return view;
  }

  /** Writes a Hugging Face folder (config.json + model.safetensors in PyTorch layout). */
  async save(dir: string): Promise<void> {
    await saveBertToHf(this, dir);
  }

  /** Frees every weight. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(this.trainableVariables);
  }

  /** The BertModel behind a teacher: the model itself, or the model whose asTeacher() made this view. */
  static unwrap(teacher: Teacher | undefined): BertModel | undefined {
    if (teacher instanceof BertModel) return teacher;
    return teacher ? frozenViews.get(teacher) : undefined;
  }
}
