// Temporary folders and files for the config tests (not part of the package).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@distillery/core';

/** The repository root. */
export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * A fresh folder under the repository's node_modules/.cache, so that modules written there resolve
 * the workspace's packages (@tensorflow/tfjs-core) the way a user's project would. Removed by cleanup().
 */
export function tempDir(): { dir: string; write(name: string, text: string): string; cleanup(): void } {
  const root = path.join(REPO, 'node_modules', '.cache', 'distillery-config-tests');
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(path.join(root, 'case-'));
  return {
    dir,
    write(name, text) {
      const file = path.join(dir, name);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A logger that keeps its lines. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => { lines.push(m); }, warn: (m) => { lines.push(`warn: ${m}`); } };
}

/** Tiny BERT sizes for a synthetic task of vocabulary 40, sequences of 8 (dropout off so runs compare exactly). */
export const TINY_BERT = {
  vocab_size: 40, max_position_embeddings: 16, num_labels: 3, num_attention_heads: 2,
  hidden_dropout_prob: 0, attention_probs_dropout_prob: 0,
};

/** A small YAML pipeline: fine-tune a 2x16 BERT teacher on a synthetic task, then distil a 2x8 student. */
export const TINY_YAML = `
description: tiny synthetic pipeline
backend: cpu
seed: 7
models:
  teacher:
    type: bert
    config: { vocab_size: 40, max_position_embeddings: 16, num_labels: 3, num_hidden_layers: 2, hidden_size: 16,
              num_attention_heads: 2, intermediate_size: 32, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }
  student:
    type: bert
    config: { vocab_size: 40, max_position_embeddings: 16, num_labels: 3, num_hidden_layers: 2, hidden_size: 8,
              num_attention_heads: 2, intermediate_size: 16, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }
data:
  train: { type: synthetic, numClasses: 3, vocabSize: 40, seqLength: 8, size: 48, seed: 1 }
  dev: { type: synthetic, numClasses: 3, vocabSize: 40, seqLength: 8, size: 24, seed: 2 }
stages:
  - name: finetune
    student: teacher
    losses: [{ use: supervised }]
    data: { train: train, validation: dev }
    batchSize: 16
    maxSteps: 4
    optimizer: { learningRate: 1e-3, warmupSteps: 1 }
  - name: distil
    teacher: { stage: finetune }
    student: student
    losses:
      - { use: hinton, weight: 1, options: { temperature: 2 } }
      - { use: pkd, weight: 10, options: { projection: true } }
    data: { train: train, validation: dev }
    batchSize: 16
    maxSteps: 4
    optimizer: { learningRate: 1e-3 }
`;
