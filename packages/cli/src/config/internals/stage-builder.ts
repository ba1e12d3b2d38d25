import * as tf from '@tensorflow/tfjs-core';
import {
  placeIssues, silentLogger, validate, type DescribeEnv, type Distillery, type Feature, type LayerMapping, type Logger,
  type ModelDescription, type ModelRef, type Plugin, type PluginEnv, type PluginRef, type StageConfig, type Student, type Teacher,
} from '@distillery/core';
import { ConfigError, fromPluginError, joinPath } from '../errors.js';
import { withMlm, type LoadedDataset } from '../datasets.js';
import { installHint } from '../plugins-discovery.js';
import type {
  ModelDef, ModelRefDef, PipelineConfig, StageDef, StageFieldsDef, StagePluginDef, TeacherAssistantDef,
} from '../schema.js';
import { isObject } from './zod-issues.js';

/** Where each part of a built stage was written, for error paths. */
interface StageOrigin {
  /** The entry's path: `stages[2]`. */
  entry: string;
  /** The path of one stage field (`losses`, `data`, ...). */
  field(name: string): string;
  /** Said after the path for a stage made by a stage plugin. */
  note: string;
}

/** What is known of a model before it is built: its plugin's description, and the reference that builds it. */
interface Known {
  /** Undefined when its plugin has no describe() (or cannot tell yet): it is checked when the stage runs. */
  description?: ModelDescription;
  /** The plugin reference with the env it was described in (a teacher-assistant chain builds assistants like it). */
  like?: PluginRef & { env: DescribeEnv };
}

/**
 * Turns the entries of `stages` into core StageConfigs (names and `{ type }` models become plugin
 * references, dataset names become sources, stage plugins are expanded) and checks each built stage
 * against what is known of its models and data, with every error at its config path.
 */
export class StageBuilder {
  /** Where each plugin reference made from the config was written (`models.teacher`, `stages[0].student`). */
  private readonly refPaths = new WeakMap<object, { path: string; fromFile: boolean }>();
  /** The dataset behind each batch source handed to a stage (masked sources included). */
  private readonly sources = new Map<unknown, LoadedDataset>();
  /** What is known about each stage's student, by stage name. */
  private readonly students = new Map<string, Known>();

  constructor(
    private readonly config: PipelineConfig,
    private readonly distillery: Distillery,
    private readonly datasets: Map<string, LoadedDataset>,
    private readonly logger: Logger,
  ) {}

  /** The stages one entry of `stages` stands for, with where they were written. */
  entry(entry: StageDef | StagePluginDef, i: number): [StageConfig, StageOrigin][] {
    const at = `stages[${i}]`;
    if ('name' in entry) {
      return [[this.stage(entry as StageDef, at), { entry: at, field: (f) => joinPath(at, f), note: '' }]];
    }
    if (entry.use === 'teacher-assistant') return this.chain((entry as { options: TeacherAssistantDef }).options, at);
    const plugin = this.plugin('stage', entry.use, joinPath(at, 'use'));
    const opts = (entry.options ?? {}) as Record<string, unknown>;
    this.checkKeys(plugin, opts, joinPath(at, 'options'));
    let made: StageConfig[];
    try {
      made = plugin.create(opts, this.distillery.stageEnv());
    } catch (error) {
      throw fromPluginError(error, joinPath(at, 'options'), opts, at);
    }
    return made.map((s) => [s, { entry: at, field: () => at, note: ` (stage '${s.name}' made by stage plugin '${entry.use}')` }]);
  }

  /** A stage written in the file, as the StageConfig one would write in code. */
  private stage(def: StageDef, at: string): StageConfig {
    const { name, teacher, student, ...fields } = def;
    return {
      name,
      ...(teacher === undefined ? {} : { teacher: this.ref(teacher, joinPath(at, 'teacher')) as ModelRef<Teacher> }),
      student: this.ref(student, joinPath(at, 'student')) as ModelRef<Student>,
      ...this.fields(fields, at),
    } as StageConfig;
  }

  /** The plain stage fields, with dataset names turned into sources and the file's seed as default. */
  private fields(fields: Partial<StageFieldsDef>, at: string, withSeed = true): Partial<StageConfig> {
    const { data, mlm, seed, callbacks, checkpoint, ...rest } = fields;
    const out: Partial<StageConfig> = { ...rest } as Partial<StageConfig>;
    // No dir: '' (core writes nothing; the CLI puts checkpoints in its run folder).
    if (checkpoint) out.checkpoint = { ...checkpoint, dir: checkpoint.dir ?? '' };
    if (callbacks) out.callbacks = callbacks;
    if (seed !== undefined || withSeed) out.seed = seed ?? this.config.seed;
    if (data) {
      const train = this.datasets.get(data.train)!;
      const source = withMlm(train, mlm, out.seed ?? this.config.seed, joinPath(at, 'mlm'));
      this.sources.set(source, train);
      out.data = { train: source };
      if (data.validation !== undefined) {
        const validation = this.datasets.get(data.validation)!;
        this.sources.set(validation.source, validation);
        out.data.validation = validation.source;
      }
    }
    return out;
  }

  /** A model reference of the file as a core ModelRef: names and `{ type }` become plugin references. */
  private ref(ref: ModelRefDef, at: string): ModelRef<Teacher> | ModelRef<Student> {
    if (isObject(ref) && 'stage' in ref) return { stage: ref.stage as string };
    const [def, where] = typeof ref === 'string' ? [this.config.models[ref], `models.${ref}`] : [ref as ModelDef, at];
    const { type, ...opts } = def;
    const plugin: PluginRef = { use: type, options: structuredClone(opts) };
    this.refPaths.set(plugin, { path: where, fromFile: true });
    return plugin;
  }

  /** A teacher-assistant chain: its ends are described here too, so that `{ stage }` ends can be sized by their plugin. */
  private chain(def: TeacherAssistantDef, at: string): [StageConfig, StageOrigin][] {
    const o = joinPath(at, 'options');
    const { name, teacher, student, assistant, assistantOptions, assistantStage, studentStage, ...fields } = def;
    const teacherRef = this.ref(teacher, joinPath(o, 'teacher'));
    const teacherKnown = this.known(teacherRef, 'teacher', undefined, joinPath(o, 'teacher'));
    const studentRef = this.ref(student, joinPath(o, 'student'));
    const studentKnown = this.known(studentRef, 'student', teacherKnown.description, joinPath(o, 'student'));
    const options: Record<string, unknown> = {
      ...this.fields(fields, o), teacher: teacherRef, student: studentRef, logger: this.logger,
      ...(name === undefined ? {} : { name }),
      ...(assistant === undefined ? {} : { assistant }),
      ...(assistantOptions === undefined ? {} : { assistantOptions }),
      ...(assistantStage === undefined ? {} : { assistantStage: this.fields(assistantStage, joinPath(o, 'assistantStage'), false) }),
      ...(studentStage === undefined ? {} : { studentStage: this.fields(studentStage, joinPath(o, 'studentStage'), false) }),
    };
    // A { stage } end is described as the model that stage trains.
    if (isObject(teacher) && 'stage' in teacher && teacherKnown.like) options.teacherAs = teacherKnown.like;
    if (isObject(student) && 'stage' in student && studentKnown.like) options.studentAs = studentKnown.like;
    const plugin = this.plugin('stage', 'teacher-assistant', joinPath(at, 'use'));
    let made: StageConfig[];
    try {
      made = plugin.create(options, this.distillery.stageEnv());
    } catch (error) {
      // The chain names a bad assistant as assistant[k]: point at it.
      const k = /\bassistant\[(\d+)\]/.exec((error as Error).message ?? '');
      throw fromPluginError(error, o, def as unknown as Record<string, unknown>, k ? joinPath(o, 'assistant', Number(k[1])) : o);
    }
    return made.map((stage, k) => {
      const last = k === made.length - 1;
      if (!last && isObject(stage.student)) this.refPaths.set(stage.student, { path: joinPath(o, 'assistant'), fromFile: false });
      const role = last ? studentStage : assistantStage;
      const roleName = last ? 'studentStage' : 'assistantStage';
      const field = (f: string) => {
        if (f === 'teacher') return k === 0 ? joinPath(o, 'teacher') : joinPath(o, 'assistant');
        if (f === 'student') return last ? joinPath(o, 'student') : joinPath(o, 'assistant');
        const top = f.split(/[.[]/)[0];
        return role && top in role ? joinPath(o, roleName, f) : joinPath(o, f);
      };
      return [stage, { entry: at, field, note: ` (stage '${stage.name}' of the teacher-assistant chain)` }];
    });
  }

  /** What a model reference's plugin tells about it (nothing is built). */
  private known(ref: ModelRef<Teacher> | ModelRef<Student> | undefined, kind: 'teacher' | 'student',
    teacher: ModelDescription | undefined, at: string): Known {
    if (ref === undefined) return {};
    if (typeof ref === 'function') return {};
    if (isObject(ref) && typeof (ref as unknown as Teacher).forward === 'function') {
      const model = ref as unknown as Teacher;
      return { description: { info: model.info, emits: model.emits } };
    }
    if (isObject(ref) && typeof (ref as { stage?: unknown }).stage === 'string') {
      const name = (ref as { stage: string }).stage;
      const earlier = this.students.get(name);
      if (!earlier) {
        throw new ConfigError({ path: at, value: ref,
          message: `{ stage: '${name}' } names no earlier stage; earlier stages: ${[...this.students.keys()].map((n) => `'${n}'`).join(', ') || '(none)'}` });
      }
      return earlier;
    }
    const { use, options = {} } = ref as PluginRef;
    const origin = this.refPaths.get(ref as object);
    const where = origin?.path ?? at;
    const plugin = this.plugin(kind, use, origin?.fromFile ? joinPath(where, 'type') : origin ? where : joinPath(where, 'use'),
      where.startsWith('models.') ? ` (used as the ${kind} at ${at})` : '');
    // A model written in the file has its options beside `type`.
    this.checkKeys(plugin, options, where, origin?.fromFile ? ['type'] : []);
    const env: DescribeEnv = teacher ? { teacher } : {};
    const like = { use, options, env };
    if (!plugin.describe) return { like };
    try {
      const description = plugin.describe(options, env);
      return description ? { description, like } : { like };
    } catch (error) {
      throw fromPluginError(error, where, options);
    }
  }

  /** Checks a built stage before anything runs: models, data, mapping, losses, callbacks. */
  check(stage: StageConfig, origin: StageOrigin): void {
    const { field, note } = origin;
    if (this.students.has(stage.name)) {
      throw new ConfigError({ path: field('name'), value: stage.name, message: `a stage named '${stage.name}' already exists${note}` });
    }
    const teacher = this.known(stage.teacher, 'teacher', undefined, field('teacher'));
    const student = this.known(stage.student, 'student', teacher.description, field('student'));
    this.checkData(stage, { teacher, student }, field);

    const env: PluginEnv = {
      teacherInfo: teacher.description?.info ?? student.description?.info!, studentInfo: student.description?.info!,
      seed: stage.seed ?? this.config.seed, logger: silentLogger,
      resolveMapping: (name, opts = {}) => this.mapping({ use: name, options: opts }, field('mapping')),
    };
    if (stage.mapping !== undefined) env.mapping = this.mapping(stage.mapping, field('mapping'));
    const shapesKnown = student.description !== undefined && (stage.teacher === undefined || teacher.description !== undefined);
    stage.losses.forEach((spec, j) => {
      const at = joinPath(field('losses'), j);
      if (typeof spec.use !== 'string') return;  // ready losses and plugin objects come only from code
      const plugin = this.plugin('loss', spec.use, joinPath(at, 'use'));
      this.checkKeys(plugin, spec.options, joinPath(at, 'options'));
      if (!shapesKnown) return;
      // Built once with the models' shapes, so option and shape errors surface now; then freed.
      let features: { teacher: ReadonlySet<Feature>; student: ReadonlySet<Feature> };
      try {
        const loss = plugin.create(spec.options ?? {}, env);
        features = { teacher: loss.teacherFeatures, student: loss.studentFeatures };
        loss.dispose?.();
        tf.dispose(loss.variables.filter((v) => !v.isDisposed));
      } catch (error) {
        throw fromPluginError(error, joinPath(at, 'options'), spec.options, at);
      }
      for (const f of features.teacher) {
        if (stage.teacher === undefined) {
          throw new ConfigError({ path: at, value: spec, message: `loss '${spec.use}' needs the teacher's '${f}', but the stage has no teacher${note}` });
        }
        const emits = teacher.description?.emits;
        if (emits && !emits.has(f)) {
          throw new ConfigError({ path: at, value: spec, message: `loss '${spec.use}' needs feature '${f}' from the teacher, ` +
            `which does not emit it (it emits: ${[...emits].join(', ')})${note}` });
        }
      }
      const [t, u] = [teacher.description?.info.numLabels, student.description?.info.numLabels];
      if (features.teacher.has('logits') && features.student.has('logits') && t !== undefined && u !== undefined && t !== u) {
        throw new ConfigError({ path: at, value: spec, message: `loss '${spec.use}' compares the logits of a teacher with ` +
          `num_labels ${t} and a student with num_labels ${u}${note}` });
      }
      for (const f of features.student) {
        const emits = student.description?.emits;
        if (emits && !emits.has(f)) {
          throw new ConfigError({ path: at, value: spec, message: `loss '${spec.use}' needs feature '${f}' from the student, ` +
            `which does not emit it (it emits: ${[...emits].join(', ')})${note}` });
        }
      }
    });
    (stage.callbacks ?? []).forEach((cb, j) => {
      const ref = cb as unknown as PluginRef;
      if (isObject(cb) && typeof ref.use === 'string') {
        const at = joinPath(field('callbacks'), j);
        this.checkKeys(this.plugin('callback', ref.use, joinPath(at, 'use')), ref.options, joinPath(at, 'options'));
      }
    });
    this.students.set(stage.name, student);
  }

  /** The datasets must fit the models: vocabulary, positions, labels. */
  private checkData(stage: StageConfig, models: { teacher: Known; student: Known }, field: (f: string) => string): void {
    const train = this.sources.get(stage.data?.train);
    const validation = this.sources.get(stage.data?.validation);
    for (const [key, ds] of [['train', train], ['validation', validation]] as const) {
      if (!ds) continue;
      const at = joinPath(field('data'), key);
      // The teacher reads the training batches only.
      for (const role of key === 'train' && stage.teacher !== undefined ? ['student', 'teacher'] as const : ['student'] as const) {
        const { info, maxLength } = models[role].description ?? {};
        if (info?.vocabSize !== undefined && ds.vocabSize > info.vocabSize) {
          throw new ConfigError({ path: at, value: ds.name, message: `dataset '${ds.name}' has ids up to ${ds.vocabSize - 1} ` +
            `(its vocabulary), but the ${role}'s vocabulary is ${info.vocabSize}` });
        }
        if (maxLength !== undefined && ds.maxLength > maxLength) {
          throw new ConfigError({ path: at, value: ds.name, message: `dataset '${ds.name}' has sequences up to ${ds.maxLength} ` +
            `tokens (maxLength), but the ${role} takes at most ${maxLength} tokens` });
        }
        if (info?.numLabels !== undefined && ds.labels && info.numLabels !== ds.labels.length) {
          throw new ConfigError({ path: at, value: ds.name, message: `dataset '${ds.name}' has ${ds.labels.length} classes ` +
            `(${ds.labels.join(', ')}), but the ${role} has num_labels ${info.numLabels}` });
        }
      }
    }
    const labelled = (ds: LoadedDataset | undefined) => !ds || ds.labels !== undefined || (ds.examples?.every((e) => e.label !== undefined) ?? false);
    if (validation && !labelled(validation)) {
      throw new ConfigError({ path: joinPath(field('data'), 'validation'), value: validation.name,
        message: `dataset '${validation.name}' has no labels; evaluation needs labelled data` });
    }
    if (train && !labelled(train) && stage.losses.some((l) => l.use === 'supervised')) {
      throw new ConfigError({ path: joinPath(field('data'), 'train'), value: train.name,
        message: `dataset '${train.name}' has no labels, which the 'supervised' loss needs` });
    }
    if (train?.labels && validation?.labels && train.labels.join('\u0000') !== validation.labels.join('\u0000')) {
      throw new ConfigError({ path: joinPath(field('data'), 'validation'), value: validation.name,
        message: `dataset '${validation.name}' has classes ${validation.labels.join(', ')} but '${train.name}' has ` +
          `${train.labels.join(', ')}: the ids would differ; give both the same 'labels' list` });
    }
  }

  private mapping(ref: StageConfig['mapping'], at: string): LayerMapping {
    if (typeof ref === 'string') {
      const plugin = this.plugin('mapping', ref, at);
      try { return plugin.create({}); } catch (error) { throw fromPluginError(error, at, undefined); }
    }
    if (isObject(ref) && typeof (ref as LayerMapping).pairs === 'function') return ref as LayerMapping;
    const { use, options = {} } = ref as PluginRef;
    const plugin = this.plugin('mapping', use, joinPath(at, 'use'));
    this.checkKeys(plugin, options, joinPath(at, 'options'));
    try { return plugin.create(options); } catch (error) { throw fromPluginError(error, joinPath(at, 'options'), options, at); }
  }

  /** The registered plugin of a kind and name, or a ConfigError listing the known names. */
  private plugin<K extends Plugin['kind']>(kind: K, name: string, at: string, note = '') {
    if (!this.distillery.plugins.has(kind, name)) {
      const known = this.distillery.plugins.list(kind).map((p) => `'${p.name}'`).join(', ') || '(none registered)';
      // An official plugin's package is an optional install: name it rather than list what is there.
      const hint = installHint(kind, name);
      throw new ConfigError({ path: at, value: name,
        message: `unknown ${kind} plugin '${name}'${note}; ${hint ? `${hint}; ` : ''}known ${kind} plugins: ${known} ` +
          `(plugins come from the installed @distillery packages and the modules listed under 'plugins')` });
    }
    return this.distillery.plugins.get(kind, name);
  }

  /** Checks options against the plugin's schema (keys and values), every problem at its path under `at`. */
  private checkKeys(plugin: Plugin, options: object | undefined, at: string, alsoAllowed: string[] = []): void {
    if (!plugin.options) return;
    const result = validate(plugin.options, options ?? {});
    if (result.ok) return;
    throw new ConfigError(placeIssues(result.issues, options,
      { where: at, what: `option for ${plugin.kind} plugin '${plugin.name}'`, alsoAllowed }));
  }
}
