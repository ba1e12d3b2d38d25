import { DistilleryError, checkChoiceOption, checkNumberOption } from '@distillery/core';

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
  tie_word_embeddings: boolean;
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

const ACTIVATIONS: readonly BertActivation[] = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu'];
const PROBLEM_TYPES: readonly BertProblemType[] = ['regression', 'single_label_classification', 'multi_label_classification'];

/** Keys of a config.json that carry no BERT shape but are legal there (HF bookkeeping); save writes its own. */
const HF_BOOKKEEPING = ['architectures', 'model_type', 'label2id', 'transformers_version', 'torch_dtype', 'use_cache'];

const KNOWN_KEYS = new Set<string>([...Object.keys(BERT_DEFAULTS), 'id2label', ...HF_BOOKKEEPING]);

/** What a caller may pass: any subset of BertConfig, plus HF bookkeeping keys such as `architectures`. */
export type BertConfigInput = Partial<BertConfig> & {
  architectures?: string[];
  model_type?: string;
  label2id?: Record<string, number>;
};

/**
 * Fills Hugging Face's defaults in and validates. Errors name the key and value. With
 * `lenient` (reading a config.json), keys unknown to BertConfig are allowed, as HF allows them;
 * otherwise they are rejected so that a typo such as `hiden_size` cannot pass silently.
 */
export function resolveBertConfig(input: BertConfigInput, { who = 'bert', lenient = false } = {}): BertConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new DistilleryError(`${who}: config must be an object, got ${JSON.stringify(input)}`, 'config');
  }
  if (!lenient) checkBertConfigKeys(input, who);
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as BertConfigInput;
  const merged = { ...BERT_DEFAULTS, ...given } as BertConfig;
  const int = (key: keyof BertConfig, min: number) =>
    checkNumberOption(who, key, merged[key], { integer: true, min });
  const prob = (key: keyof BertConfig) => checkNumberOption(who, key, merged[key], { min: 0, max: 1 });
  for (const key of ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size',
    'max_position_embeddings', 'type_vocab_size'] as const) int(key, 1);
  int('pad_token_id', 0);
  prob('hidden_dropout_prob');
  prob('attention_probs_dropout_prob');
  if (merged.classifier_dropout !== null) prob('classifier_dropout');
  for (const key of ['hidden_dropout_prob', 'attention_probs_dropout_prob', 'classifier_dropout'] as const) {
    if (merged[key] === 1) throw new DistilleryError(`${who}: option '${key}' must be < 1, got 1`, 'config');
  }
  checkNumberOption(who, 'initializer_range', merged.initializer_range, { min: 0 });
  checkNumberOption(who, 'layer_norm_eps', merged.layer_norm_eps, { min: 0, minExclusive: true });
  checkChoiceOption(who, 'hidden_act', merged.hidden_act, ACTIVATIONS);
  checkChoiceOption(who, 'position_embedding_type', merged.position_embedding_type, ['absolute']);
  if (merged.problem_type !== null) checkChoiceOption(who, 'problem_type', merged.problem_type, PROBLEM_TYPES);
  if (merged.tie_word_embeddings !== true) {
    throw new DistilleryError(
      `${who}: option 'tie_word_embeddings' must be true (an untied masked-LM decoder is not implemented), ` +
      `got ${JSON.stringify(merged.tie_word_embeddings)}`, 'config');
  }
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
  const config: BertConfig = { id2label: merged.id2label } as BertConfig;
  for (const key of Object.keys(BERT_DEFAULTS) as (keyof BertConfig)[]) (config as any)[key] = merged[key];
  return config;
}

/** Rejects keys BertConfig does not know, naming them and the known ones (typos must not pass silently). */
export function checkBertConfigKeys(input: object, who = 'bert'): void {
  const unknown = Object.keys(input).filter((k) => !KNOWN_KEYS.has(k));
  if (unknown.length) {
    throw new DistilleryError(
      `${who}: unknown config key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; ` +
      `known keys: ${[...Object.keys(BERT_DEFAULTS), 'id2label'].join(', ')}`, 'config');
  }
}

/** HF derives num_labels from id2label when only that is given; both given must agree. */
function resolveLabels(merged: BertConfig, given: BertConfigInput, who: string): void {
  const id2label = given.id2label;
  if (id2label !== undefined) {
    if (id2label === null || typeof id2label !== 'object') {
      throw new DistilleryError(`${who}: option 'id2label' must be an object, got ${JSON.stringify(id2label)}`, 'config');
    }
    const count = Object.keys(id2label).length;
    if (given.num_labels === undefined) merged.num_labels = count;
    else if (given.num_labels !== count) {
      throw new DistilleryError(
        `${who}: 'num_labels' ${given.num_labels} disagrees with 'id2label', which names ${count} labels`, 'config');
    }
  }
  checkNumberOption(who, 'num_labels', merged.num_labels, { integer: true, min: 1 });
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
