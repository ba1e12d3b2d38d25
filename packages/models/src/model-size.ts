import { DistilleryError } from '@distillery/core';

/** The most elements one weight may hold: a typed array past 2^31 − 1 is beyond what the backends index. */
export const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;

/** The most bytes a model's float32 weights may take: the WebAssembly heap (4 GiB) could hold no more. */
export const MAX_MODEL_BYTES = 4 * 2 ** 30;

/** One weight (or a buffer every forward builds) of a model about to be built, sized from its config. */
export interface PlannedWeight {
  /** Its name, e.g. 'bert.embeddings.word_embeddings.weight'. */
  name: string;
  /** Element count, as a float (it may be far past any safe integer for a hostile config). */
  elements: number;
  /** How the count follows from the config, e.g. 'vocab_size × hidden_size'. */
  formula: string;
  /** How many such weights the model has. @default 1 */
  copies?: number;
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(bytes < 2 ** 30 ? 3 : 1)} GiB`;
const count = (n: number) => (Number.isSafeInteger(n) ? String(n) : n.toExponential(3));

/**
 * Refuses a config whose weights could not be allocated, before any is: a weight past
 * MAX_TENSOR_ELEMENTS, or float32 weights past MAX_MODEL_BYTES in all. `sizes` are the config
 * keys the counts follow from, named with their values in the error.
 */
export function checkModelSize(who: string, sizes: Record<string, number>, weights: readonly PlannedWeight[]): void {
  const given = Object.entries(sizes).map(([k, v]) => `${k} ${v}`).join(', ');
  for (const w of weights) {
    if (w.elements > MAX_TENSOR_ELEMENTS) {
      throw new DistilleryError(`${who}: weight '${w.name}' would hold ${w.formula} = ${count(w.elements)} elements ` +
        `(${gib(4 * w.elements)} as float32), more than a tensor may hold (${MAX_TENSOR_ELEMENTS}); lower those sizes (${given})`,
      'config');
    }
  }
  const total = weights.reduce((n, w) => n + w.elements * (w.copies ?? 1), 0);
  if (4 * total > MAX_MODEL_BYTES) {
    throw new DistilleryError(`${who}: the config needs ${count(total)} parameters, ${gib(4 * total)} as float32, ` +
      `more than the ${gib(MAX_MODEL_BYTES)} a model may take (the WebAssembly heap; training needs about 4 times as much ` +
      `for gradients and optimizer moments); lower the sizes (${given})`, 'config');
  }
}
