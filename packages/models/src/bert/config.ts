import { describeValue, DistilleryError, parseOptions } from '@distillery/core';
import * as z from 'zod';
import { checkModelSize, type PlannedWeight } from '../model-size.js';

/** Activations BERT checkpoints use; 'gelu' is the exact erf form, 'gelu_new' (= 'gelu_pytorch_tanh') the tanh approximation. */
export type BertActivation = 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'relu';

/** Hugging Face's `problem_type`; the forward pass does not depend on it. */
export type BertProblemType = 'regression' | 'single_label_classification' | 'multi_label_classification';

/** The output heads a BertModel can carry (either, both or none). */
export type BertHead = 'classification' | 'mlm';

/**
 * A Hugging Face `BertConfig`, same keys and meaning (snake_case). Every key has Hugging Face's
 * default (bert-base); `num_labels` follows `id2label` when only that is given, as in HF.
 */
export interface BertConfig {
  /** @default 30522 */
  vocab_size: number;
  /** @default 768 */
  hidden_size: number;
  /** @default 12 */
  num_hidden_layers: number;
  /** @default 12 */
  num_attention_heads: number;
  /** Width of the feed-forward layer. @default 3072 */
  intermediate_size: number;
  /** @default 'gelu' */
  hidden_act: BertActivation;
  /** Dropout after embeddings and every dense output. @default 0.1 */
  hidden_dropout_prob: number;
  /** Dropout on attention probabilities. @default 0.1 */
  attention_probs_dropout_prob: number;
  /** @default 512 */
  max_position_embeddings: number;
  /** @default 2 */
  type_vocab_size: number;
  /** Standard deviation of the normal weight initialiser. @default 0.02 */
  initializer_range: number;
  /** @default 1e-12 */
  layer_norm_eps: number;
  /** Row of the word embeddings initialised to zero. @default 0 */
  pad_token_id: number;
  /** Only 'absolute' is implemented. @default 'absolute' */
  position_embedding_type: 'absolute';
  /** Dropout before the classifier; null means hidden_dropout_prob. @default null */
  classifier_dropout: number | null;
  /** Outputs of the classification head; 1 means regression. @default 2 */
  num_labels: number;
  /** @default null (regression when num_labels = 1, else single-label classification) */
  problem_type: BertProblemType | null;
  /** Label names by index, as HF writes them (keys are decimal strings). @default LABEL_0.. */
  id2label: Record<string, string>;
  /** The masked-LM decoder shares the word embeddings; only true is implemented. @default true */
  tie_word_embeddings: true;
}

/** The defaults of Hugging Face's BertConfig(). */
export const BERT_DEFAULTS: Readonly<Omit<BertConfig, 'id2label'>> = Object.freeze({
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  classifier_dropout: null,
  num_labels: 2,
  problem_type: null,
  tie_word_embeddings: true,
});

const ACTIVATIONS = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu'] as const satisfies readonly BertActivation[];
const PROBLEM_TYPES = ['regression', 'single_label_classification', 'multi_label_classification'] as const satisfies readonly BertProblemType[];

/**
 * Upper bounds of the sizes, far above any published BERT (bert-large: 30522, 1024, 24, 16, 4096, 512):
 * a config past them is damaged, and would allocate for minutes or fail deep inside the backend.
 * Sizes within the bounds are still checked together against the memory they need (checkModelSize).
 */
export const BERT_SIZE_LIMITS = Object.freeze({
  vocab_size: 2 ** 24, hidden_size: 2 ** 16, num_hidden_layers: 1024, num_attention_heads: 1024, intermediate_size: 2 ** 18,
  max_position_embeddings: 2 ** 17, type_vocab_size: 1024, num_labels: 2 ** 20,
});
type SizeKey = keyof typeof BERT_SIZE_LIMITS;

const size = (key: SizeKey, description: string) =>
  z.int().min(1).max(BERT_SIZE_LIMITS[key]).optional().meta({ description: `${description} At most ${BERT_SIZE_LIMITS[key]}.` });
// A dropout rate of 1 would drop everything: refused.
const rate = (description: string) => z.number().min(0).lt(1).optional().meta({ description });

/**
 * The keys of a Hugging Face BertConfig and their bounds (defaults: BERT_DEFAULTS, filled in by
 * resolveBertConfig), plus the bookkeeping keys a config.json carries. Strict: a typo such as
 * `hiden_size` is refused with a did-you-mean.
 */
export const bertConfigSchema = z.strictObject({
  vocab_size: size('vocab_size', 'Vocabulary size. Default 30522.'),
  hidden_size: size('hidden_size', 'Width of every layer. Default 768.'),
  num_hidden_layers: size('num_hidden_layers', 'Encoder layers. Default 12.'),
  num_attention_heads: size('num_attention_heads', 'Attention heads; must divide hidden_size. Default 12.'),
  intermediate_size: size('intermediate_size', 'Width of the feed-forward layer. Default 3072.'),
  hidden_act: z.enum(ACTIVATIONS).optional().meta({ description: "Activation of the feed-forward layer. Default 'gelu'." }),
  hidden_dropout_prob: rate('Dropout after embeddings and every dense output. Default 0.1.'),
  attention_probs_dropout_prob: rate('Dropout on attention probabilities. Default 0.1.'),
  max_position_embeddings: size('max_position_embeddings', 'Longest sequence. Default 512.'),
  type_vocab_size: size('type_vocab_size', 'Token types. Default 2.'),
  initializer_range: z.number().min(0).optional().meta({ description: 'Standard deviation of the weight initialiser. Default 0.02.' }),
  layer_norm_eps: z.number().gt(0).optional().meta({ description: 'Default 1e-12.' }),
  pad_token_id: z.int().min(0).optional().meta({ description: 'Row of the word embeddings initialised to zero. Default 0.' }),
  position_embedding_type: z.literal('absolute').optional().meta({ description: "Only 'absolute' is implemented." }),
  classifier_dropout: z.number().min(0).lt(1).nullable().optional()
    .meta({ description: 'Dropout before the classifier; null means hidden_dropout_prob. Default null.' }),
  num_labels: size('num_labels', 'Outputs of the classification head; 1 means regression. Default 2 (or the size of id2label).'),
  problem_type: z.enum(PROBLEM_TYPES).nullable().optional().meta({ description: 'Default null.' }),
  id2label: z.record(z.string(), z.string()).optional().meta({ description: 'Label names by index (keys are decimal strings).' }),
  // An untied masked-LM decoder is not implemented.
  tie_word_embeddings: z.literal(true, {
    error: (iss) => `expected true (an untied masked-LM decoder is not implemented), got ${describeValue(iss.input)}`,
  }).optional().meta({ description: 'Only true is implemented.' }),
  architectures: z.array(z.string()).optional().meta({ description: 'Hugging Face bookkeeping; names the heads.' }),
  model_type: z.string().optional(),
  label2id: z.record(z.string(), z.number()).optional(),
  transformers_version: z.unknown().optional(),
  torch_dtype: z.unknown().optional(),
  use_cache: z.unknown().optional(),
});
const lenientSchema = bertConfigSchema.loose();

/** What a caller may pass: any subset of BertConfig, plus HF bookkeeping keys such as `architectures`. */
export type BertConfigInput = z.input<typeof bertConfigSchema>;

/**
 * Fills Hugging Face's defaults in and validates. Errors name the key and value. With
 * `lenient` (reading a config.json), keys unknown to BertConfig are allowed, as HF allows them;
 * otherwise they are rejected so that a typo such as `hiden_size` cannot pass silently.
 */
export function resolveBertConfig(input: BertConfigInput,
  { who = 'bert', lenient = false, where = `${who} config` }: { who?: string; lenient?: boolean; where?: string } = {}): BertConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new DistilleryError(`${who}: config must be an object, got ${JSON.stringify(input)}`, 'config');
  }
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as BertConfigInput;
  parseOptions(lenient ? lenientSchema : bertConfigSchema, given, where);
  const merged = { ...BERT_DEFAULTS, ...given } as BertConfig;
  if (merged.hidden_size % merged.num_attention_heads !== 0) {
    throw new DistilleryError(
      `${who}: 'hidden_size' ${merged.hidden_size} is not a multiple of 'num_attention_heads' ${merged.num_attention_heads}`,
      'config');
  }
  if (merged.pad_token_id >= merged.vocab_size) {
    throw new DistilleryError(
      `${who}: 'pad_token_id' ${merged.pad_token_id} is not below 'vocab_size' ${merged.vocab_size}`, 'config');
  }
  resolveLabels(merged, given, who);
  checkBertSize(merged, who);
  const config: BertConfig = { id2label: merged.id2label } as BertConfig;
  for (const key of Object.keys(BERT_DEFAULTS) as (keyof BertConfig)[]) (config as any)[key] = merged[key];
  return config;
}

/** The weights of a BERT with both heads, by kind, as the config sizes them (for checkModelSize). */
export function plannedBertWeights(c: BertConfig): PlannedWeight[] {
  const { vocab_size: V, hidden_size: H, num_hidden_layers: L, intermediate_size: I, max_position_embeddings: P,
    type_vocab_size: T, num_labels: C } = c;
  return [
    { name: 'bert.embeddings.word_embeddings.weight', elements: V * H, formula: 'vocab_size × hidden_size' },
    { name: 'bert.embeddings.position_embeddings.weight', elements: P * H, formula: 'max_position_embeddings × hidden_size' },
    { name: 'bert.embeddings.token_type_embeddings.weight', elements: T * H, formula: 'type_vocab_size × hidden_size' },
    // query, key, value and attention output per layer; the pooler and the masked-LM transform.
    { name: 'bert.encoder.layer.0.attention.self.query.weight', elements: H * H, formula: 'hidden_size × hidden_size', copies: 4 * L + 2 },
    { name: 'bert.encoder.layer.0.intermediate.dense.weight', elements: H * I, formula: 'hidden_size × intermediate_size', copies: 2 * L },
    { name: 'classifier.weight', elements: H * C, formula: 'hidden_size × num_labels' },
    { name: 'cls.predictions.bias', elements: V, formula: 'vocab_size' },
    { name: 'bert.encoder.layer.0.intermediate.dense.bias', elements: I, formula: 'intermediate_size', copies: L },
    { name: 'classifier.bias', elements: C, formula: 'num_labels' },
    // Biases and LayerNorm weights: 9 per layer, 6 outside.
    { name: 'bert.embeddings.LayerNorm.weight', elements: H, formula: 'hidden_size', copies: 9 * L + 6 },
  ];
}

/**
 * Refuses a config whose weights (with both heads) could not be allocated: one past the elements a
 * tensor may hold, or more float32 bytes than a model may take, naming the sizes.
 */
function checkBertSize(c: BertConfig, who: string): void {
  const { vocab_size, hidden_size, num_hidden_layers, intermediate_size, max_position_embeddings, type_vocab_size, num_labels } = c;
  checkModelSize(who, {
    vocab_size, hidden_size, num_hidden_layers, intermediate_size, max_position_embeddings, type_vocab_size, num_labels,
  }, plannedBertWeights(c));
}

/** Rejects keys BertConfig does not know (typos must not pass silently) and bad values, under `where`. */
export function checkBertConfigKeys(input: object, where = 'bert config'): void {
  parseOptions(bertConfigSchema, input, where);
}

/** HF derives num_labels from id2label when only that is given; both given must agree. */
function resolveLabels(merged: BertConfig, given: BertConfigInput, who: string): void {
  const id2label = given.id2label;
  if (id2label !== undefined) {
    const count = Object.keys(id2label).length;
    if (given.num_labels === undefined) merged.num_labels = count;
    else if (given.num_labels !== count) {
      throw new DistilleryError(
        `${who}: 'num_labels' ${given.num_labels} disagrees with 'id2label', which names ${count} labels`, 'config');
    }
  }
  if (!(merged.num_labels >= 1)) {
    throw new DistilleryError(`${who}: 'id2label' names no label; a classification head needs at least one`, 'config');
  }
  merged.id2label = id2label
    ? { ...id2label }
    : Object.fromEntries(Array.from({ length: merged.num_labels }, (_, i) => [String(i), `LABEL_${i}`]));
}

/** The heads named by HF `architectures` (BertForSequenceClassification, BertForMaskedLM, BertForPreTraining). */
export function headsFromArchitectures(architectures: readonly string[] | undefined): BertHead[] | undefined {
  if (!Array.isArray(architectures) || architectures.length === 0) return undefined;
  const heads = new Set<BertHead>();
  for (const a of architectures) {
    if (a === 'BertForSequenceClassification') heads.add('classification');
    if (a === 'BertForMaskedLM' || a === 'BertForPreTraining') heads.add('mlm');
  }
  return [...heads];
}

/** The config.json Hugging Face writes for this config and these heads. */
export function toHfConfigJson(config: BertConfig, heads: readonly BertHead[]): Record<string, unknown> {
  const architectures = [
    ...(heads.includes('classification') ? ['BertForSequenceClassification'] : []),
    ...(heads.includes('mlm') ? ['BertForMaskedLM'] : []),
  ];
  const { id2label, ...rest } = config;
  const label2id = Object.fromEntries(Object.entries(id2label).map(([i, name]) => [name, Number(i)]));
  return {
    architectures: architectures.length ? architectures : ['BertModel'],
    model_type: 'bert',
    ...Object.fromEntries(Object.entries(rest).filter(([k]) => k !== 'num_labels')),
    id2label,
    label2id,
    torch_dtype: 'float32',
    use_cache: true,
  };
}
