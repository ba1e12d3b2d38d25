// Issue 3's model benchmark: forward and forward+backward milliseconds per batch (16 × 128) for a
// teacher (4 layers, hidden 256, 4 heads) and a student (2 layers, hidden 128, 2 heads), and the
// live tensor count before and after 20 training steps (they must be equal).
// Run: npx tsx bench/models.ts [--backend wasm|cpu] [--steps 20]
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, selectBackend, type Batch, type Feature } from '@distillery/core';
import { hardLabelLoss, Rng } from '@distillery/core/kit';
import { BertModel } from '@distillery/models';
import { nativeKernels } from '@distillery/backend-native';

const { values: args } = parseArgs({ options: { backend: { type: 'string', default: 'wasm' }, steps: { type: 'string', default: '20' } } });
const steps = Number(args.steps);
// On wasm, the native kernels when their addon is built (the backend line says which).
await selectBackend(args.backend as 'wasm' | 'cpu', { extensions: [nativeKernels()] });

const B = 16, S = 128, V = 8000;
const config = (layers: number, hidden: number, heads: number) => ({
  vocab_size: V, hidden_size: hidden, num_hidden_layers: layers, num_attention_heads: heads,
  intermediate_size: 4 * hidden, max_position_embeddings: 512, num_labels: 2,
});
const rng = new Rng(1);
const batch: Batch = {
  inputIds: tf.tensor2d(Int32Array.from({ length: B * S }, () => 1 + rng.int(V - 1)), [B, S], 'int32'),
  attentionMask: tf.ones([B, S], 'int32') as tf.Tensor2D,
  labels: tf.tensor1d(Int32Array.from({ length: B }, () => rng.int(2)), 'int32'),
};
const LOGITS = new Set<Feature>(['logits']);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function measure(name: string, model: BertModel) {
  const forward = () => { const out = model.forward(batch, LOGITS); out.logits!.dataSync(); tf.dispose(out as never); };
  forward(); // warm-up: kernels compile, buffers grow
  const fwd: number[] = [];
  for (let i = 0; i < 5; i++) { const t = performance.now(); forward(); fwd.push(performance.now() - t); }

  const optimizer = new AdamW(model.trainableVariables);
  const step = (i: number) => {
    const { value, grads } = tf.variableGrads(
      () => hardLabelLoss(model.forward(batch, LOGITS, { training: true, seed: i }).logits!, batch.labels!), model.trainableVariables);
    optimizer.applyGradients(grads, 1e-4);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  step(0);
  const before = tf.memory().numTensors;
  const bwd: number[] = [];
  for (let i = 1; i <= steps; i++) { const t = performance.now(); step(i); bwd.push(performance.now() - t); }
  const after = tf.memory().numTensors;
  optimizer.dispose();
  return {
    model: name, parameters: model.parameterCount(), forwardMs: median(fwd), trainStepMs: median(bwd),
    tensorsBefore: before, tensorsAfter: after, flat: before === after,
  };
}

const rows = [
  measure('teacher bert(4x256, 4 heads)', new BertModel(config(4, 256, 4))),
  measure('student bert(2x128, 2 heads)', new BertModel(config(2, 128, 2))),
];
console.log(`\nbackend ${tf.getBackend()}, batch ${B} × seq ${S}, vocab ${V}; median of 5 forwards and ${steps} steps (AdamW)\n`);
console.table(rows.map((r) => ({
  model: r.model, params: r.parameters.toLocaleString('en'), 'forward ms': r.forwardMs.toFixed(0),
  'fwd+bwd+AdamW ms': r.trainStepMs.toFixed(0), 'tensors before': r.tensorsBefore, 'tensors after': r.tensorsAfter,
})));
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const file = new URL(`./results/models-${tf.getBackend()}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url);
writeFileSync(file, JSON.stringify({ backend: tf.getBackend(), batch: B, seq: S, vocab: V, steps, rows }, null, 2));
console.log(`written ${file.pathname}`);
if (rows.some((r) => !r.flat)) { console.error('live tensor count grew'); process.exitCode = 1; }
