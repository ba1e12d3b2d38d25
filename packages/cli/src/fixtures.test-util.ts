// Tiny pipelines and an in-memory CliIo for the cli tests (not part of the package: files matching *.test.* are left out).
import * as tf from '@tensorflow/tfjs-core';
import {
  arraySource, createDistillery, defineLossPlugin, type Logger, type StageConfig, type Student,
} from '@distillery/core';
import { MlpClassifier, syntheticTask } from '@distillery/core/testing';
import { hinton } from '@distillery/loss-hinton';
import { wordPieceTokenizerJson } from '@distillery/models';
import type { CliIo } from './io.js';
import type { PipelineLoader } from './pipeline-types.js';

/** A loss whose value is NaN (a diverged run), differentiable so the step gets as far as the check. */
export const nanLoss = defineLossPlugin({
  name: 'nan',
  create: () => ({
    name: 'nan', teacherFeatures: new Set(), studentFeatures: new Set(['logits'] as const), variables: [],
    compute: ({ student }) => {
      const total = tf.mul(tf.sum(student.logits!), Number.NaN) as tf.Scalar;
      return { total, terms: {} };
    },
  }),
});

/** Options of tinyPipeline. */
export interface TinyPipelineOptions {
  /** The distillation stage uses the NaN loss. */
  nan?: boolean;
  /** Write last/ every N steps too. */
  everySteps?: number;
}

/**
 * A loader (the file name is ignored) for a two-stage pipeline on a synthetic task: 'teacher' is
 * trained on labels (MLP 16-16), 'student' (MLP 4-4) learns from it with Hinton KD. Each stage:
 * 48 examples in batches of 8 = 6 steps per epoch, 2 epochs, evaluated on 24 examples every epoch.
 */
export function tinyPipeline({ nan = false, everySteps }: TinyPipelineOptions = {}): PipelineLoader {
  return async (_file, { logger }: { logger: Logger }) => {
    const distillery = createDistillery({ logger, plugins: [hinton, nanLoss] });
    const task = { numClasses: 2, vocabSize: 24, seqLength: 8 };
    const train = arraySource(syntheticTask({ ...task, size: 48, seed: 1 }));
    const validation = arraySource(syntheticTask({ ...task, size: 24, seed: 2 }));
    const mlp = (width: number, seed: number) => (): Student =>
      new MlpClassifier({ vocabSize: task.vocabSize, embeddingSize: width, hiddenSizes: [width], numLabels: 2, seed });
    const common = {
      data: { train, validation }, batchSize: 8, epochs: 2, optimizer: { learningRate: 0.05, warmupSteps: 2 },
      // An empty dir: the run folder's default.
      ...(everySteps ? { checkpoint: { dir: '', everySteps } } : {}),
    };
    const stages: StageConfig[] = [
      { name: 'teacher', student: mlp(16, 1), losses: [{ use: 'supervised' }], ...common },
      { name: 'student', teacher: { stage: 'teacher' }, student: mlp(4, 2),
        losses: nan ? [{ use: 'nan' }] : [{ use: 'hinton', options: { temperature: 2 } }, { use: 'supervised', weight: 0.5 }], ...common },
    ];
    return { distillery, stages, backend: 'cpu' };
  };
}

/** A CliIo that collects output, and whose interrupts are fired by the test (or by a watcher on stdout). */
export function memoryIo(loadPipeline: PipelineLoader, { onStdout }: { onStdout?: (text: string, io: MemoryIo) => void } = {}): MemoryIo {
  const handlers = new Set<() => void>();
  const io: MemoryIo = {
    out: '', err: '', exits: [],
    stdout: { write: (s: string) => { io.out += s; onStdout?.(s, io); return true; } },
    stderr: { write: (s: string) => { io.err += s; return true; } },
    onInterrupt: (handler) => { handlers.add(handler); return () => { handlers.delete(handler); }; },
    exit: (code) => { io.exits.push(code); },
    loadPipeline,
    interrupt: () => { for (const h of [...handlers]) h(); },
  };
  return io;
}

/** A CliIo that keeps what was written. */
export interface MemoryIo extends CliIo {
  out: string;
  err: string;
  exits: number[];
  /** Fires the interrupt handlers, as Ctrl-C does. */
  interrupt(): void;
}

/** A WordPiece tokenizer.json (BERT framing) over a handful of words: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, then `words`. */
export function tinyTokenizerJson(words: readonly string[]): Record<string, unknown> {
  return wordPieceTokenizerJson(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...words]) as unknown as Record<string, unknown>;
}

/** Words of the tiny sentiment files. */
export const WORDS = ['good', 'great', 'fine', 'nice', 'bad', 'awful', 'poor', 'sad', 'the', 'film', 'was', 'very'] as const;

/** JSONL lines of labelled texts ('pos' / 'neg'), made deterministically. */
export function sentimentJsonl(count: number): string {
  const pos = ['good', 'great', 'fine', 'nice'];
  const neg = ['bad', 'awful', 'poor', 'sad'];
  return Array.from({ length: count }, (_, i) => {
    const label = i % 2 === 0 ? 'pos' : 'neg';
    const words = label === 'pos' ? pos : neg;
    return JSON.stringify({ text: `the film was ${i % 3 === 0 ? 'very ' : ''}${words[i % 4]} ${words[(i + 1) % 4]}`, label });
  }).join('\n');
}
