import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { DistilleryError } from '@distillery/core';
import { writeDirAtomic } from '@distillery/core/kit';
import { BertModel, BiLstmClassifier, saveBertToHf, writeBertTfjs, writeTfjsWeights } from '@distillery/models';

/** Formats `distillery export` writes. */
export type ExportFormat = 'hf' | 'tfjs';

/** model.json's `format` of a BiLSTM exported for TensorFlow.js. */
export const BILSTM_TFJS_FORMAT = 'distillery/bilstm';

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
 * has no class for) or as a TensorFlow.js folder (model.json + weight shards + config.json; BERT in
 * @distillery/models' format, saveBertToTfjs's). `distillery inspect/eval` read both back. A tokenizer.json is copied.
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
    await writeDirAtomic(dir, async (tmp) => {
      // BERT: @distillery/models' own TF.js format, which loadBertFromTfjs reads back.
      if (model instanceof BertModel) await writeBertTfjs(model, tmp);
      else {
        await writeTfjsWeights(tmp, model.namedWeights(), { format: BILSTM_TFJS_FORMAT });
        await fs.writeFile(path.join(tmp, 'config.json'), `${JSON.stringify({ model_type: 'distillery-bilstm', ...model.config }, null, 2)}\n`);
      }
      await copyTokenizer(tmp);
    });
  }
  return (await fs.readdir(dir)).sort().map((f) => path.join(dir, f));
}
