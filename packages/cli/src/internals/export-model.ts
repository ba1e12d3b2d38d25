import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { DistilleryError } from '@distillery/core';
import { writeDirAtomic } from '@distillery/core/kit';
import { BertModel, BiLstmClassifier, saveBertToHf, writeTfjsWeights } from '@distillery/models';

/** Formats `distillery export` writes. */
export type ExportFormat = 'hf' | 'tfjs';

/** The config.json Hugging Face would write for this model (heads as `architectures`). */
export function bertConfigJson(model: BertModel): Record<string, unknown> {
  const architectures = [
    ...(model.heads.includes('classification') ? ['BertForSequenceClassification'] : []),
    ...(model.heads.includes('mlm') ? ['BertForMaskedLM'] : []),
  ];
  const label2id = Object.fromEntries(Object.entries(model.config.id2label).map(([i, name]) => [name, Number(i)]));
  return { architectures: architectures.length ? architectures : ['BertModel'], model_type: 'bert', ...model.config, label2id };
}

/**
 * Refuses to write over a folder that holds anything but an earlier model export: the atomic
 * replacement would delete it as a whole.
 */
async function checkTarget(out: string, force: boolean): Promise<void> {
  const names = await fs.readdir(out).catch(() => undefined);
  if (!names || names.length === 0) return;
  if (!names.includes('config.json')) {
    throw new DistilleryError(`--out ${out} exists and is not a model folder; choose a new or empty folder`, 'config');
  }
  if (!force) throw new DistilleryError(`--out ${out} already holds a model; pass --force to replace it`, 'config');
}

/**
 * Writes a model as a Hugging Face folder (BERT: config.json + model.safetensors in PyTorch layout,
 * loadable by transformers; a BiLSTM: its own config.json + model.safetensors, which transformers
 * has no class for) or as a TensorFlow.js folder (model.json + weight shards, tfjs layout, with a
 * config.json that `distillery inspect/eval` and this package read back). A tokenizer.json is copied.
 * Returns the files written.
 */
export async function exportModel(
  model: BertModel | BiLstmClassifier, format: ExportFormat, out: string,
  { tokenizer, force = false }: { tokenizer?: string; force?: boolean } = {},
): Promise<string[]> {
  const dir = path.resolve(out);
  await checkTarget(dir, force);
  const copyTokenizer = async (target: string) => {
    if (tokenizer && existsSync(tokenizer)) await fs.copyFile(tokenizer, path.join(target, 'tokenizer.json'));
  };
  if (format === 'hf') {
    await writeDirAtomic(dir, async (tmp) => {
      if (model instanceof BertModel) await saveBertToHf(model, tmp);
      else await model.save(tmp);
      await copyTokenizer(tmp);
    });
  } else {
    const config = model instanceof BertModel ? bertConfigJson(model) : { model_type: 'distillery-bilstm', ...model.config };
    const weights = model instanceof BertModel ? model.weights : model.namedWeights();
    await writeDirAtomic(dir, async (tmp) => {
      await writeTfjsWeights(tmp, weights, { format: model instanceof BertModel ? 'distillery/bert' : 'distillery/bilstm' });
      await fs.writeFile(path.join(tmp, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
      await copyTokenizer(tmp);
    });
  }
  return (await fs.readdir(dir)).sort().map((f) => path.join(dir, f));
}
