import { DistilleryError, type ModelRef, type Student, type Teacher } from '@distillery/core';

/** The sizes the assistant rule looks at: depth, width, and (when known) heads and feed-forward width. */
export interface ModelShape {
  numLayers: number;
  hiddenSize: number;
  numHeads?: number;
  intermediateSize?: number;
}

/**
 * One assistant, as Hugging Face BERT config keys applied over the teacher's config. Heads and the
 * feed-forward width may be left out; the chain fills them in (see `planAssistants`).
 */
export interface AssistantShape {
  num_hidden_layers: number;
  hidden_size: number;
  num_attention_heads?: number;
  intermediate_size?: number;
}

/** An assistant with every size decided. */
export type ResolvedAssistantShape = Required<AssistantShape>;

/**
 * The part of a Hugging Face BertConfig this package reads. Kept structural so the package does not
 * depend on @distillery/models at run time; a BertModel's `config` satisfies it.
 */
export interface BertConfigLike {
  num_hidden_layers?: number;
  hidden_size?: number;
  num_attention_heads?: number;
  intermediate_size?: number;
  [key: string]: unknown;
}

/** What the chain could learn about one end of it (teacher or student) without building it. */
export interface ModelFacts {
  shape?: ModelShape;
  /** The model's BERT config, when it is a BERT (assistants are built as overrides of the teacher's). */
  config?: BertConfigLike;
  /** The model's output heads, when known ('classification', 'mlm'). */
  heads?: readonly string[];
}

// Hugging Face BertConfig() defaults, for a config that leaves a size out (as BertModel fills it).
const HF_DEFAULTS = { num_hidden_layers: 12, hidden_size: 768, num_attention_heads: 12, intermediate_size: 3072 };

/** The shape a (possibly partial) BERT config describes, with Hugging Face's defaults for missing sizes. */
export function shapeOfConfig(config: BertConfigLike): ModelShape {
  const c = { ...HF_DEFAULTS, ...Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) };
  return {
    numLayers: c.num_hidden_layers as number, hiddenSize: c.hidden_size as number,
    numHeads: c.num_attention_heads as number, intermediateSize: c.intermediate_size as number,
  };
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * Reads what can be known statically from a model reference: a model object (its `info`, plus
 * `config` and `heads` when it is a BertModel), or a `{ use: 'bert', options: { config } }` plugin
 * reference. `{ stage }` references, factories, checkpoints and other plugins tell nothing: the
 * caller then passes `teacherConfig` / `studentConfig`.
 */
export function readFacts(ref: ModelRef<Teacher> | ModelRef<Student> | undefined): ModelFacts {
  if (!isObject(ref)) return {};
  if (typeof (ref as unknown as Teacher).forward === 'function') {
    const model = ref as unknown as Teacher & { config?: unknown; heads?: unknown };
    const config = isObject(model.config) && typeof model.config.num_hidden_layers === 'number'
      ? model.config as BertConfigLike : undefined;
    const heads = Array.isArray(model.heads) ? model.heads as string[] : undefined;
    const { numLayers, hiddenSize, numHeads } = model.info;
    return {
      shape: config ? shapeOfConfig(config) : { numLayers, hiddenSize, numHeads },
      config, heads,
    };
  }
  const plugin = ref as { use?: unknown; options?: unknown };
  if (plugin.use === 'bert' && isObject(plugin.options)) {
    const { config, checkpoint, initFromTeacher, heads } = plugin.options;
    // A checkpoint's or a teacher copy's sizes live elsewhere; the config then only holds overrides.
    if (checkpoint !== undefined || initFromTeacher !== undefined || !isObject(config)) return {};
    return {
      shape: shapeOfConfig(config as BertConfigLike), config: config as BertConfigLike,
      heads: Array.isArray(heads) ? heads as string[] : undefined,
    };
  }
  return {};
}

/** Fails unless `value` is a positive integer; names the option. */
export function positiveInt(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new DistilleryError(`${where} must be a positive integer, got ${JSON.stringify(value)}`, 'config');
  }
  return value;
}

/** 'LxH' for logs, e.g. '4x32'. */
export const shapeText = (s: { numLayers: number; hiddenSize: number }) => `${s.numLayers}x${s.hiddenSize}`;
