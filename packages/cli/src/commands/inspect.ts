import { promises as fs } from 'node:fs';
import path from 'node:path';
import { modelDetails, selectBackend } from '@distillery/core';
import { Tokenizer } from '@distillery/models';
import { ExitCode } from '../errors.js';
import type { CliIo } from '../io.js';
import { parseCommand } from '../internals/args.js';
import { loadModel } from '../internals/model-dir.js';
import { countParameters } from '../report/compare.js';
import { commandPlugins } from './shared.js';

/** The help of `distillery inspect`. */
export const INSPECT_USAGE = `usage: distillery inspect <model-dir|checkpoint> [--json] [--plugin <module>]...

Prints what a model folder or checkpoint holds: format, shape, parameter count (by part), the
features it can emit (what losses may ask of it), its files, and for a checkpoint its training state.
The installed model plugins (bert, bilstm) read their folders; --plugin <module> adds a plugin
module's (repeatable), asked first.`;

async function files(dir: string): Promise<{ name: string; bytes: number }[]> {
  const names = await fs.readdir(dir);
  const out: { name: string; bytes: number }[] = [];
  for (const name of names.sort()) {
    const stat = await fs.stat(path.join(dir, name));
    if (stat.isFile()) out.push({ name, bytes: stat.size });
  }
  return out;
}

const size = (bytes: number) => (bytes < 1024 ? `${bytes} B` : bytes < 1024 ** 2 ? `${(bytes / 1024).toFixed(1)} KiB`
  : bytes < 1024 ** 3 ? `${(bytes / 1024 ** 2).toFixed(1)} MiB` : `${(bytes / 1024 ** 3).toFixed(2)} GiB`);

/** `distillery inspect`: returns the exit code. */
export async function inspectCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, { json: { type: 'boolean' }, plugin: { type: 'string', multiple: true } },
    INSPECT_USAGE, { min: 1, max: 1 });
  if (values.help) { io.stdout.write(`${INSPECT_USAGE}\n`); return ExitCode.ok; }
  await selectBackend('cpu', { info: () => {}, warn: (m) => io.stderr.write(`warning: ${m}\n`) });
  const loaded = await loadModel(positionals[0], {
    logger: { info: () => {}, warn: (m) => io.stderr.write(`warning: ${m}\n`) }, plugins: await commandPlugins(values.plugin),
  });
  const { model } = loaded;
  const details = modelDetails(model);
  const parts = details.parameterParts?.() ?? {};
  const tokenizer = loaded.tokenizer ? { file: loaded.tokenizer, vocabSize: new Tokenizer(loaded.tokenizer).vocabSize } : undefined;
  const state = loaded.checkpoint?.state;
  const info = {
    dir: loaded.dir,
    format: loaded.format,
    model: model.name,
    kind: loaded.kind,
    info: model.info,
    ...(details.heads ? { heads: details.heads } : {}),
    config: details.config,
    labels: loaded.labels,
    parameters: countParameters(model),
    parameterParts: parts,
    emits: [...model.emits],
    files: await files(loaded.dir),
    tokenizer,
    ...(state ? {
      checkpoint: {
        dir: loaded.checkpoint!.dir, stage: state.stage, step: state.step, epoch: state.epoch, batchInEpoch: state.batchInEpoch,
        seed: state.seed, best: state.best, history: state.history, savedAt: state.savedAt, rebuiltFromConfig: loaded.checkpoint!.rebuilt,
      },
    } : {}),
  };
  if (values.json) {
    io.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    return ExitCode.ok;
  }
  const i = model.info;
  const lines = [
    `folder:      ${loaded.dir}`,
    `format:      ${loaded.formatDescription}`,
    `model:       ${model.name}`,
    `shape:       ${i.numLayers} layer(s), hidden ${i.hiddenSize}, ${i.numHeads} attention head(s)` +
      `${i.vocabSize ? `, vocabulary ${i.vocabSize}` : ''}${i.numLabels ? `, ${i.numLabels} label(s)` : ''}` +
      `${loaded.labels ? ` (${loaded.labels.join(', ')})` : ''}`,
    ...(details.heads ? [`heads:       ${details.heads.join(', ') || 'none (bare encoder)'}`] : []),
    `parameters:  ${info.parameters?.toLocaleString('en-US') ?? 'unknown'}${Object.keys(parts).length ? ` (${Object.entries(parts)
      .map(([k, n]) => `${k} ${n.toLocaleString('en-US')}`).join('; ')})` : ''}`,
    `emits:       ${info.emits.join(', ')}`,
    `files:       ${info.files.map((f) => `${f.name} ${size(f.bytes)}`).join(', ')}`,
    ...(tokenizer ? [`tokenizer:   ${tokenizer.file} (vocabulary ${tokenizer.vocabSize})`] : []),
    ...(state ? [
      `checkpoint:  stage '${state.stage}', step ${state.step} (${state.batchInEpoch
        ? `in epoch ${state.epoch + 1}, after batch ${state.batchInEpoch}` : `${state.epoch} epoch(s) done`}), ` +
        `seed ${state.seed}, saved ${state.savedAt}` +
        `${loaded.checkpoint!.rebuilt ? '; model rebuilt from the stage config' : ''}`,
      ...(state.best ? [`best:        ${state.best.metric}=${state.best.value.toFixed(4)} at epoch ${state.best.epoch + 1} (step ${state.best.step})`] : []),
    ] : []),
  ];
  io.stdout.write(`${lines.join('\n')}\n`);
  return ExitCode.ok;
}
