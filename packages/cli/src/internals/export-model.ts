import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { DistilleryError, modelDetails, type ExportFormat, type Teacher } from '@distillery/core';
import { writeDirAtomic } from '@distillery/core/kit';

export type { ExportFormat } from '@distillery/core';
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
 * Writes a model as `format` through its exportTo() (ModelDetails): 'hf', its own config.json +
 * model.safetensors (BERT: loadable by transformers), or 'tfjs', a TensorFlow.js folder (model.json +
 * weight shards + config.json). Its plugin's load() reads both back, so `distillery inspect/eval` do.
 * A tokenizer.json is copied. Returns the files written and the model's note about them, if any.
 */
export async function exportModel(
  model: Teacher, format: ExportFormat, out: string,
  { tokenizer, force = false }: { tokenizer?: string; force?: boolean } = {},
): Promise<{ files: string[]; note?: string }> {
  const { exportTo } = modelDetails(model);
  if (typeof exportTo !== 'function') {
    throw new DistilleryError(`${model.name} cannot be exported: its model gives no exportTo() (ModelDetails)`, 'config');
  }
  const dir = path.resolve(out);
  await checkTarget(dir, force);
  let note: string | undefined;
  await writeDirAtomic(dir, async (tmp) => {
    note = (await exportTo.call(model, format, tmp))?.note;
    if (tokenizer && existsSync(tokenizer)) await fs.copyFile(tokenizer, path.join(tmp, 'tokenizer.json'));
  });
  return { files: (await fs.readdir(dir)).sort().map((f) => path.join(dir, f)), ...(note ? { note } : {}) };
}
