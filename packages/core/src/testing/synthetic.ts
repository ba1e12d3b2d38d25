import { Rng } from '../internals/rng.js';

/** A synthetic token-classification task: each class favours its own keywords among noise tokens. */
export interface SyntheticTaskOptions {
  numClasses: number;
  vocabSize: number;
  seqLength: number;
  size: number;
  /** Probability that a token is one of its class's keywords rather than noise. @default 0.25 */
  signal?: number;
  /** Keywords per class. @default 4 */
  keywordsPerClass?: number;
  /** @default 42 */
  seed?: number;
  /** Seed of the class → keyword assignment, so splits drawn with other seeds share one task. @default 7 */
  taskSeed?: number;
}

/** Draws examples: ids in 1..vocabSize-1 (0 is padding; lengths vary), labels uniform over classes. */
export function syntheticTask(options: SyntheticTaskOptions): { inputIds: number[][]; labels: number[] } {
  const { numClasses, vocabSize, seqLength, size, signal = 0.25, keywordsPerClass = 4, seed = 42, taskSeed = 7 } = options;
  const taskRng = new Rng(taskSeed);
  const pool = taskRng.shuffle(Array.from({ length: vocabSize - 1 }, (_, i) => i + 1));
  const keywords = Array.from({ length: numClasses }, (_, c) => pool.slice(c * keywordsPerClass, (c + 1) * keywordsPerClass));
  const rng = new Rng(seed);
  const inputIds: number[][] = [];
  const labels: number[] = [];
  for (let n = 0; n < size; n++) {
    const label = rng.int(numClasses);
    const length = Math.max(2, seqLength - rng.int(Math.ceil(seqLength / 2)));
    const row = Array.from({ length: seqLength }, (_, i) => {
      if (i >= length) return 0;
      return rng.next() < signal ? keywords[label][rng.int(keywordsPerClass)] : 1 + rng.int(vocabSize - 1);
    });
    inputIds.push(row);
    labels.push(label);
  }
  return { inputIds, labels };
}
