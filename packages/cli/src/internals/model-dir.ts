import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import {
  assignWeights, DistilleryError, hasCheckpoint, loadCheckpoint, modelDetails, silentLogger,
  type CheckpointState, type FolderFormat, type LoadedFolder, type Logger, type ModelEnv, type Plugin, type PluginRef, type Student,
  type StudentPlugin, type Teacher, type TeacherPlugin,
} from '@distillery/core';
import { discoverPlugins } from '../config/plugins-discovery.js';

/** How a model folder stored its model: a FolderFormat's id, e.g. 'hf' or 'tfjs'. */
export type ModelFormat = string;

/** A model read from a folder, and where it came from. */
export interface LoadedModel {
  /** The model; its ModelDetails members (modelDetails()) tell inspect and export more. */
  model: Teacher;
  /** The name of the model plugin that read or rebuilt it, e.g. 'bert'. */
  kind: string;
  /** How its weights were stored. */
  format: ModelFormat;
  /** That format, for people. */
  formatDescription: string;
  /** The folder the weights were read from. */
  dir: string;
  /** Set when the input was a training checkpoint. */
  checkpoint?: { dir: string; state: CheckpointState; rebuilt: boolean };
  /** A tokenizer.json found beside the model. */
  tokenizer?: string;
  /** Label names by id, when the model's config names them. */
  labels?: string[];
}

/** Options of loadModel. */
export interface LoadModelOptions {
  logger?: Logger;
  /**
   * The plugins whose model plugins may read the folder (asked in this order, students first) or rebuild a
   * checkpoint's student. @default the installed @distillery packages' plugins (discoverPlugins())
   */
  plugins?: readonly Plugin[];
}

type ModelPlugin = StudentPlugin<any> | TeacherPlugin<any>;

// Loading reads every weight; the seed only matters to a plugin that draws some (a rebuilt checkpoint's is its own).
const LOAD_SEED = 42;

/** The model plugins among `plugins`: students first (a student plugin's models are what runs save), then teachers. */
function modelPlugins(plugins: readonly Plugin[]): ModelPlugin[] {
  return [...plugins.filter((p) => p.kind === 'student'), ...plugins.filter((p) => p.kind === 'teacher')] as ModelPlugin[];
}

const pluginList = (plugins: readonly ModelPlugin[]) => plugins.map((p) => `${p.kind} '${p.name}'`).join(', ') || 'none';

/**
 * Reads a model folder or a training checkpoint. A folder is read by the first model plugin whose load()
 * claims it (the installed packages' read Hugging Face BERT folders, BiLSTM folders and their TensorFlow.js
 * exports). A checkpoint is `best/` (the student saved inside it), `last/` (rebuilt by the student plugin
 * its state.json's stage config names), or a stage's checkpoint folder holding them (best/ preferred).
 */
export async function loadModel(input: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const { logger = silentLogger } = options;
  const plugins = options.plugins ?? (await discoverPlugins()).map((d) => d.plugin);
  const dir = path.resolve(input);
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) throw new DistilleryError(`${input}: no such folder (expected a model folder or a checkpoint)`, 'checkpoint');

  if (existsSync(path.join(dir, 'state.json'))) return loadCheckpointModel(dir, logger, plugins);
  for (const kind of ['best', 'last']) {
    if (await hasCheckpoint(path.join(dir, kind))) return loadCheckpointModel(path.join(dir, kind), logger, plugins);
  }
  const models = modelPlugins(plugins);
  const env: ModelEnv = { seed: LOAD_SEED, logger };
  for (const plugin of models) {
    let loaded: LoadedFolder | undefined;
    try {
      loaded = await plugin.load?.(dir, env);
    } catch (cause) {
      if (cause instanceof DistilleryError) throw cause;
      throw new DistilleryError(`${input}: ${plugin.kind} plugin '${plugin.name}' failed to read it: ${(cause as Error).message}`,
        'checkpoint', { cause });
    }
    if (loaded) {
      const tokenizer = existsSync(path.join(dir, 'tokenizer.json')) ? path.join(dir, 'tokenizer.json') : undefined;
      return found(loaded.model, plugin.name, loaded.format, dir, tokenizer);
    }
  }
  const readers = models.filter((p) => p.load);
  throw new DistilleryError(`${input}: not a model folder any model plugin reads (asked: ${pluginList(readers)}): expected a folder ` +
    `a model plugin saved or exported (e.g. config.json with model.safetensors, or model.json with config.json), or a ` +
    `checkpoint (state.json); a model of another package needs its plugin module (--plugin <module>)`, 'checkpoint');
}

function found(model: Teacher, kind: string, format: FolderFormat, dir: string, tokenizer?: string): LoadedModel {
  return {
    model, kind, format: format.id, formatDescription: format.description, dir, tokenizer, labels: modelDetails(model).labelNames?.(),
  };
}

const isPluginRef = (x: unknown): x is PluginRef => typeof x === 'object' && x !== null && typeof (x as PluginRef).use === 'string';

// What inspect says of a rebuilt model whose details name no saved format.
const CHECKPOINT_FORMAT: FolderFormat = { id: 'checkpoint', description: 'training checkpoint (state.json + variables)' };

async function loadCheckpointModel(dir: string, logger: Logger, plugins: readonly Plugin[]): Promise<LoadedModel> {
  const ckpt = await loadCheckpoint(dir);
  const saved = path.join(ckpt.dir, 'model');
  if (existsSync(path.join(saved, 'config.json'))) {
    const inner = await loadModel(saved, { logger, plugins });
    return { ...inner, checkpoint: { dir: ckpt.dir, state: ckpt.state, rebuilt: false } };
  }
  // `last/` holds the variables only: rebuild the student its stage config describes, then load them.
  const config = (ckpt.state.config ?? {}) as { student?: unknown; teacher?: unknown };
  const where = `${ckpt.dir}: stage '${ckpt.state.stage}'`;
  const hint = `; use the stage's best/ checkpoint or its saved student (students/<stage> in the run folder) instead`;
  const named = (kind: 'student' | 'teacher', ref: unknown) =>
    (isPluginRef(ref) ? plugins.find((p) => p.kind === kind && p.name === ref.use) : undefined) as ModelPlugin | undefined;
  const studentPlugin = named('student', config.student);
  if (!studentPlugin) {
    const known = plugins.filter((p) => p.kind === 'student').map((p) => `'${p.name}'`);
    throw new DistilleryError(`${where}: cannot rebuild its student ${JSON.stringify(config.student)} ` +
      `(only { use: ${known.join(' | ') || '(no student plugin)'} } can be: the student plugins registered)${hint}`, 'checkpoint');
  }
  // The model plugins announce what they build; rebuilding is not news.
  const quiet: Logger = { info: () => {}, warn: (m) => logger.warn(m) };
  let teacher: Teacher | undefined;
  const teacherPlugin = named('teacher', config.teacher);
  if (teacherPlugin && isPluginRef(config.teacher)) {
    // Only a student initialised from its teacher or sized by it needs the teacher; try, and say so if it fails.
    teacher = await Promise.resolve(teacherPlugin.create(config.teacher.options ?? {}, { seed: ckpt.state.seed, logger: quiet }))
      .catch(() => undefined);
  }
  let model: Teacher;
  try {
    const ref = config.student as PluginRef;
    model = await studentPlugin.create(ref.options ?? {}, { seed: ckpt.state.seed, logger: quiet, teacher });
  } catch (cause) {
    throw new DistilleryError(`${where}: cannot rebuild its student: ${(cause as Error).message}${hint}`, 'checkpoint', { cause });
  } finally {
    teacher?.dispose?.();
  }
  const variables = (model as Partial<Student>).trainableVariables ?? [];
  const keys = ckpt.state.variables.map((v, i) => ({ key: v.key, i })).filter(({ key }) => key.startsWith('student.'));
  if (keys.length !== variables.length) {
    model.dispose?.();
    throw new DistilleryError(`${where}: holds ${keys.length} student variables but the rebuilt ${model.name} has ` +
      `${variables.length}${hint}`, 'checkpoint');
  }
  assignWeights(keys.map(({ key }, j) => ({ key, variable: variables[j] })), keys.map(({ i }) => ckpt.weights[i]), ckpt.dir);
  return {
    ...found(model, studentPlugin.name, modelDetails(model).savedFormat ?? CHECKPOINT_FORMAT, ckpt.dir),
    checkpoint: { dir: ckpt.dir, state: ckpt.state, rebuilt: true },
  };
}
