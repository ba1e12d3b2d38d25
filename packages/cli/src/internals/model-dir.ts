import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  assignWeights, DistilleryError, hasCheckpoint, loadCheckpoint, silentLogger,
  type CheckpointState, type Logger, type PluginRef, type Student, type StudentPlugin, type Teacher, type TeacherPlugin,
} from '@distillery/core';
import {
  BERT_TFJS_FORMAT, BertModel, BiLstmClassifier, bertStudent, bertTeacher, bilstm, loadBertFromHf, loadBertFromTfjs, loadTfjsWeights,
} from '@distillery/models';

/** The kinds of model folder the commands read. */
export type ModelFormat = 'hf' | 'bilstm' | 'tfjs';

/** A model read from a folder, and where it came from. */
export interface LoadedModel {
  model: BertModel | BiLstmClassifier;
  kind: 'bert' | 'bilstm';
  /** How its weights were stored. */
  format: ModelFormat;
  /** The folder the weights were read from. */
  dir: string;
  /** Set when the input was a training checkpoint. */
  checkpoint?: { dir: string; state: CheckpointState; rebuilt: boolean };
  /** A tokenizer.json found beside the model. */
  tokenizer?: string;
  /** Label names by id, when the model's config names them (not HF's LABEL_n defaults). */
  labels?: string[];
}

const MODEL_TYPE_BILSTM = 'distillery-bilstm';

const readJson = async (file: string): Promise<any> => {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (cause) {
    throw new DistilleryError(`cannot read ${file}: ${(cause as Error).message}`, 'checkpoint', { cause });
  }
};

/** Label names from an HF-style id2label, unless they are only the LABEL_n placeholders. */
function labelNames(model: BertModel | BiLstmClassifier): string[] | undefined {
  if (!(model instanceof BertModel) || !model.heads.includes('classification')) return undefined;
  const names = Array.from({ length: model.config.num_labels }, (_, i) => model.config.id2label[String(i)]);
  return names.every((n, i) => typeof n === 'string' && n !== `LABEL_${i}`) ? names : undefined;
}

/**
 * Reads a model folder: a Hugging Face BERT folder (config.json + model.safetensors, or the index
 * of shards), a BiLSTM saved by its save() (config.json with model_type 'distillery-bilstm'), a
 * TensorFlow.js export made by `distillery export --format tfjs` (model.json + config.json), or a
 * training checkpoint: `best/` (the student saved inside it), `last/` (rebuilt from the stage
 * config in its state.json), or a stage's checkpoint folder holding them (best/ preferred).
 */
export async function loadModel(input: string, { logger = silentLogger }: { logger?: Logger } = {}): Promise<LoadedModel> {
  const dir = path.resolve(input);
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) throw new DistilleryError(`${input}: no such folder (expected a model folder or a checkpoint)`, 'checkpoint');
  const has = (name: string) => existsSync(path.join(dir, name));

  if (has('state.json')) return loadCheckpointModel(dir, logger);
  for (const kind of ['best', 'last']) {
    if (await hasCheckpoint(path.join(dir, kind))) return loadCheckpointModel(path.join(dir, kind), logger);
  }
  if (!has('config.json')) {
    throw new DistilleryError(`${input}: not a model folder: expected config.json with model.safetensors (Hugging Face BERT ` +
      `or a distillery BiLSTM), model.json with config.json (a distillery TensorFlow.js export), or a checkpoint (state.json)`,
    'checkpoint');
  }
  const config = await readJson(path.join(dir, 'config.json'));
  const tokenizer = has('tokenizer.json') ? path.join(dir, 'tokenizer.json') : undefined;
  let loaded: Omit<LoadedModel, 'labels'>;
  if (has('model.json')) {
    loaded = { ...(await loadTfjsExport(dir, config)), format: 'tfjs', dir, tokenizer };
  } else if (config.model_type === MODEL_TYPE_BILSTM) {
    loaded = { model: await BiLstmClassifier.load(dir), kind: 'bilstm', format: 'bilstm', dir, tokenizer };
  } else {
    loaded = { model: await loadBertFromHf(dir, { logger }), kind: 'bert', format: 'hf', dir, tokenizer };
  }
  return { ...loaded, labels: labelNames(loaded.model) };
}

// The BERT TF.js format of distillery 0.1's CLI, replaced by @distillery/models' own (BERT_TFJS_FORMAT).
const OLD_BERT_TFJS_FORMAT = 'distillery/bert';

async function loadTfjsExport(dir: string, config: any): Promise<Pick<LoadedModel, 'model' | 'kind'>> {
  const { format } = await readJson(path.join(dir, 'model.json'));
  if (format === BERT_TFJS_FORMAT) return { model: await loadBertFromTfjs(dir), kind: 'bert' };
  if (format === OLD_BERT_TFJS_FORMAT) {
    throw new DistilleryError(`${path.join(dir, 'model.json')} has format '${OLD_BERT_TFJS_FORMAT}' (a TensorFlow.js export by ` +
      `an earlier distillery), which is no longer read; export the model again from its Hugging Face folder or checkpoint ` +
      `(distillery export <model> --format tfjs writes format '${BERT_TFJS_FORMAT}')`, 'checkpoint');
  }
  if (config.model_type !== MODEL_TYPE_BILSTM) {
    throw new DistilleryError(`${path.join(dir, 'model.json')} has format ${JSON.stringify(format)}: not a distillery TensorFlow.js ` +
      `export (expected '${BERT_TFJS_FORMAT}', or a BiLSTM's config.json beside it)`, 'checkpoint');
  }
  const { weights } = await loadTfjsWeights(dir);
  try {
    const { model_type: _, ...rest } = config;
    const model = new BiLstmClassifier(rest);
    const named = model.namedWeights();
    const missing = [...named.keys()].filter((k) => !weights.has(k));
    if (missing.length) {
      model.dispose();
      throw new DistilleryError(`${dir}: model.json lacks ${missing.length} weight(s) the config needs: ${missing.slice(0, 5).join(', ')}` +
        `${missing.length > 5 ? ', ...' : ''}`, 'checkpoint');
    }
    assignWeights([...named].map(([key, variable]) => ({ key, variable })), [...named.keys()].map((k) => {
      const t = weights.get(k)!;
      return { shape: [...t.shape], data: t.dataSync() as Float32Array };
    }), dir);
    return { model, kind: 'bilstm' };
  } finally {
    tf.dispose([...weights.values()]);
  }
}

const STUDENT_PLUGINS: Record<string, StudentPlugin<any>> = { bert: bertStudent, bilstm };
const TEACHER_PLUGINS: Record<string, TeacherPlugin<any>> = { bert: bertTeacher };

const isPluginRef = (x: unknown): x is PluginRef => typeof x === 'object' && x !== null && typeof (x as PluginRef).use === 'string';

async function loadCheckpointModel(dir: string, logger: Logger): Promise<LoadedModel> {
  const ckpt = await loadCheckpoint(dir);
  const saved = path.join(ckpt.dir, 'model');
  if (existsSync(path.join(saved, 'config.json'))) {
    const inner = await loadModel(saved, { logger });
    return { ...inner, checkpoint: { dir: ckpt.dir, state: ckpt.state, rebuilt: false } };
  }
  // `last/` holds the variables only: rebuild the student its stage config describes, then load them.
  const config = (ckpt.state.config ?? {}) as { student?: unknown; teacher?: unknown };
  const where = `${ckpt.dir}: stage '${ckpt.state.stage}'`;
  const hint = `; use the stage's best/ checkpoint or its saved student (students/<stage> in the run folder) instead`;
  if (!isPluginRef(config.student) || !STUDENT_PLUGINS[config.student.use]) {
    throw new DistilleryError(`${where}: cannot rebuild its student ${JSON.stringify(config.student)} ` +
      `(only { use: ${Object.keys(STUDENT_PLUGINS).map((k) => `'${k}'`).join(' | ')} } can be)${hint}`, 'checkpoint');
  }
  // The model plugins announce what they build; rebuilding is not news.
  const quiet: Logger = { info: () => {}, warn: (m) => logger.warn(m) };
  let teacher: Teacher | undefined;
  if (isPluginRef(config.teacher) && TEACHER_PLUGINS[config.teacher.use]) {
    // Only a student initialised from its teacher or sized by it needs the teacher; try, and say so if it fails.
    teacher = await Promise.resolve(TEACHER_PLUGINS[config.teacher.use].create(config.teacher.options ?? {}, { seed: ckpt.state.seed, logger: quiet }))
      .catch(() => undefined);
  }
  let model: Student;
  try {
    model = await STUDENT_PLUGINS[config.student.use].create(config.student.options ?? {}, { seed: ckpt.state.seed, logger: quiet, teacher });
  } catch (cause) {
    throw new DistilleryError(`${where}: cannot rebuild its student: ${(cause as Error).message}${hint}`, 'checkpoint', { cause });
  } finally {
    BertModel.unwrap(teacher)?.dispose();
  }
  const keys = ckpt.state.variables.map((v, i) => ({ key: v.key, i })).filter(({ key }) => key.startsWith('student.'));
  if (keys.length !== model.trainableVariables.length) {
    (model as { dispose?(): void }).dispose?.();
    throw new DistilleryError(`${where}: holds ${keys.length} student variables but the rebuilt ${model.name} has ` +
      `${model.trainableVariables.length}${hint}`, 'checkpoint');
  }
  assignWeights(keys.map(({ key }, j) => ({ key, variable: model.trainableVariables[j] })), keys.map(({ i }) => ckpt.weights[i]), ckpt.dir);
  const typed = model as BertModel | BiLstmClassifier;
  return {
    model: typed, kind: typed instanceof BiLstmClassifier ? 'bilstm' : 'bert', format: typed instanceof BiLstmClassifier ? 'bilstm' : 'hf',
    dir: ckpt.dir, checkpoint: { dir: ckpt.dir, state: ckpt.state, rebuilt: true }, labels: labelNames(typed),
  };
}
