import './setup.js';
import { container as globalContainer, type DependencyContainer } from 'tsyringe';
import { logCallbackPlugin } from './callbacks.js';
import { backendSelected, selectBackend, type BackendExtension, type BackendPreference } from './backend.js';
import { Distiller, type RunOptions, type StageResult } from './distiller.js';
import { DistilleryError } from './errors.js';
import { releaseAll } from './internals/release.js';
import { supervised } from './losses/supervised.js';
import { consoleLogger, type Logger } from './logger.js';
import { builtinMappings } from './mappings.js';
import type { ModelEnv, Plugin, PluginKind, StageEnv } from './plugins.js';
import { checkOptionKeys, PluginRegistry } from './registry.js';
import type { ModelRef, PluginRef, ResolvedStage, StageConfig } from './stage.js';
import { checkStageSettings } from './stage-schema.js';
import {
  CallbackPlugins, LossPlugins, LoggerToken, MappingPlugins, StagePlugins, StageToken, StudentPlugins, TeacherPlugins,
} from './tokens.js';
import type { Student, Teacher } from './types.js';

const TOKENS = {
  loss: LossPlugins, mapping: MappingPlugins, teacher: TeacherPlugins,
  student: StudentPlugins, callback: CallbackPlugins, stage: StagePlugins,
} as const;

/** Options of createDistillery. */
export interface DistilleryOptions {
  /** Plugins to register (built-in mappings, the 'supervised' loss and the 'log' callback always are). */
  plugins?: Plugin[];
  /** @default consoleLogger */
  logger?: Logger;
  /** Backend chosen on the first run when selectBackend() has not been called. @default 'auto' */
  backend?: BackendPreference;
  /** Backend extensions (e.g. nativeKernels() of @distillery/backend-native) enabled by that selection. @default [] */
  backendExtensions?: readonly BackendExtension[];
}

/** A pipeline entry: a stage, or a stage plugin that expands into stages. */
export type PipelineEntry = StageConfig | (PluginRef & { name?: undefined });

/** What a pipeline run produced. */
export interface PipelineResult {
  status: 'completed' | 'interrupted';
  stages: StageResult[];
  /** Each stage's student, by stage name (the best epoch's weights when it evaluated). */
  students: Map<string, Student>;
}

const isPluginRef = (x: unknown): x is PluginRef =>
  typeof x === 'object' && x !== null && typeof (x as PluginRef).use === 'string' && !isModel(x);

const isModel = (x: unknown): x is Teacher =>
  typeof x === 'object' && x !== null && typeof (x as Teacher).forward === 'function';

/** A model reference the pipeline builds (and so owns): a plugin reference or a factory. */
const isBuilt = (ref: unknown): boolean => typeof ref === 'function' || isPluginRef(ref);

/**
 * The public door: a root container of plugins, and the stages and pipelines run from it.
 *
 * Who frees which model, one rule: a model the pipeline builds (from a plugin reference
 * `{ use, options }` or a factory function) is owned by the pipeline; a model object handed in is
 * the caller's and is never freed here. So a built teacher is freed when its stage ends, however it
 * ends (completed, interrupted, failed, or building the stage's student failed). A built student is
 * handed over in `PipelineResult.students` when run() resolves (the caller frees it from then on);
 * when run() throws, the pipeline frees the students it built, since the caller never receives
 * them. `{ stage: 'name' }` refers to an earlier stage's student (as a frozen view for a teacher):
 * it is never freed on its own. Callbacks see every model in onStageStart; they must not keep a
 * built teacher past its stage. A factory must therefore return a new model, not one held elsewhere.
 */
export class Distillery {
  /** The root container; each stage runs in a child of it (core's own business: plugins are plain objects). */
  private readonly container: DependencyContainer;

  private readonly backend: BackendPreference;

  private readonly backendExtensions: readonly BackendExtension[];

  constructor(options: DistilleryOptions = {}) {
    this.backend = options.backend ?? 'auto';
    this.backendExtensions = options.backendExtensions ?? [];
    this.container = globalContainer.createChildContainer();
    this.container.register(LoggerToken, { useValue: options.logger ?? consoleLogger });
    for (const p of [...builtinMappings, supervised, logCallbackPlugin]) this.use(p);
    for (const p of options.plugins ?? []) this.use(p);
  }

  /** The logger stages write to. */
  get logger(): Logger {
    return this.container.resolve(LoggerToken);
  }

  /** The registered plugins. */
  get plugins(): PluginRegistry {
    return this.container.resolve(PluginRegistry);
  }

  /** Registers a plugin; a second plugin of the same kind and name fails. */
  use(plugin: Plugin): this {
    const kind = plugin?.kind as PluginKind;
    if (!plugin || !(kind in TOKENS) || typeof plugin.name !== 'string' || typeof plugin.create !== 'function') {
      throw new DistilleryError(
        `use(): not a plugin (expected { kind: ${Object.keys(TOKENS).map((k) => `'${k}'`).join(' | ')}, name, create }), ` +
        `got ${describe(plugin)}`, 'plugin');
    }
    if (this.container.isRegistered(TOKENS[kind] as symbol) && this.plugins.has(kind, plugin.name)) {
      throw new DistilleryError(`use(): a ${kind} plugin named '${plugin.name}' is already registered`, 'plugin');
    }
    this.container.register(TOKENS[kind] as symbol, { useValue: plugin });
    return this;
  }

  /** What stage plugins are told when they expand. */
  stageEnv(): StageEnv {
    return { plugins: (kind) => this.plugins.list(kind), logger: this.logger };
  }

  /** Runs one stage on its own. */
  async runStage(stage: StageConfig, options: RunOptions = {}): Promise<StageResult & { student: Student }> {
    const result = await this.run([stage], options);
    return { ...result.stages[0], student: result.students.get(stage.name)! };
  }

  /** Expands stage plugins into stages and checks names are unique. */
  expand(entries: PipelineEntry[]): StageConfig[] {
    const stages: StageConfig[] = [];
    entries.forEach((entry, i) => {
      if (typeof (entry as StageConfig).name === 'string') { stages.push(entry as StageConfig); return; }
      const ref = entry as PluginRef;
      if (typeof ref.use !== 'string') throw new DistilleryError(`pipeline[${i}]: expected a stage or { use: <stage plugin> }`, 'config');
      const plugin = this.plugins.get('stage', ref.use);
      checkOptionKeys(plugin, ref.options, `pipeline[${i}]`);
      stages.push(...plugin.create(ref.options ?? {}, this.stageEnv()));
    });
    const names = new Set<string>();
    for (const s of stages) {
      if (names.has(s.name)) throw new DistilleryError(`pipeline: two stages are named '${s.name}'`, 'config');
      names.add(s.name);
    }
    return stages;
  }

  /**
   * Runs stages in order, each in a child container holding only its teacher, student and config.
   * A stage may name an earlier stage's student as its teacher ({ stage: 'name' }, frozen through
   * asTeacher()) or as its student (training continues on the same weights).
   */
  async run(entries: PipelineEntry[], options: RunOptions = {}): Promise<PipelineResult> {
    const stages = this.expand(entries);
    // Every stage's settings are checked before the first one trains.
    for (const stage of stages) checkStageSettings(stage);
    if (!backendSelected()) await selectBackend(this.backend, { logger: this.logger, extensions: this.backendExtensions });
    const students = new Map<string, Student>();
    // Students built here: the caller's once run() resolves, freed here if it throws.
    const built = new Set<Student>();
    const results: StageResult[] = [];
    try {
      for (const config of stages) {
        if (options.signal?.aborted && results.length) return { status: 'interrupted', stages: results, students };
        const seed = config.seed ?? 42;
        const teacher = config.teacher === undefined ? undefined
          : await this.resolveModel('teacher', config.teacher, config, students, { seed, logger: this.logger });
        let result: StageResult;
        let stageFailed = false;
        try {
          const student = await this.resolveModel('student', config.student, config, students, { teacher, seed, logger: this.logger });
          if (isBuilt(config.student)) built.add(student);
          const child = this.container.createChildContainer();
          const resolved: ResolvedStage = { config, teacher, student };
          child.register(StageToken, { useValue: resolved });
          result = await child.resolve(Distiller).run(options);
          students.set(config.name, student);
        } catch (error) {
          stageFailed = true;
          throw error;
        } finally {
          // A teacher built here serves only this stage.
          releaseAll([() => { if (isBuilt(config.teacher)) teacher?.dispose?.(); }],
            { logger: this.logger, where: `stage '${config.name}'`, failed: stageFailed });
        }
        results.push(result);
        if (result.status === 'interrupted') return { status: 'interrupted', stages: results, students };
      }
      return { status: 'completed', stages: results, students };
    } catch (error) {
      releaseAll([...built].map((student) => () => student.dispose?.()), { logger: this.logger, where: 'pipeline', failed: true });
      throw error;
    }
  }

  private async resolveModel<K extends 'teacher' | 'student'>(
    kind: K, ref: ModelRef<K extends 'teacher' ? Teacher : Student>, config: StageConfig,
    students: Map<string, Student>, env: ModelEnv,
  ): Promise<K extends 'teacher' ? Teacher : Student> {
    type M = K extends 'teacher' ? Teacher : Student;
    const where = `stage '${config.name}' ${kind}`;
    let model: unknown;
    if (isModel(ref)) {
      model = ref;
    } else if (typeof ref === 'function') {
      model = await ref(env);
    } else if (ref && typeof (ref as { stage?: unknown }).stage === 'string') {
      const name = (ref as { stage: string }).stage;
      const earlier = students.get(name);
      if (!earlier) {
        throw new DistilleryError(
          `${where}: { stage: '${name}' } names no earlier stage (earlier: ${[...students.keys()].join(', ') || 'none'})`, 'config');
      }
      model = kind === 'teacher' ? earlier.asTeacher() : earlier;
    } else if (ref && typeof (ref as PluginRef).use === 'string') {
      const { use, options = {} } = ref as PluginRef;
      const plugin = this.plugins.get(kind, use);
      checkOptionKeys(plugin, options, where);
      model = await plugin.create(options as never, env);
    } else {
      throw new DistilleryError(`${where}: expected a model, { stage }, { use, options } or a factory, got ${describe(ref)}`, 'config');
    }
    if (!isModel(model)) throw new DistilleryError(`${where}: the ${kind} source produced ${describe(model)}, not a model`, 'config');
    if (kind === 'student' && !Array.isArray((model as Student).trainableVariables)) {
      if (isBuilt(ref)) (model as Teacher).dispose?.();
      throw new DistilleryError(`${where}: ${(model as Teacher).name} is not trainable (no trainableVariables)`, 'config');
    }
    return model as M;
  }
}

function describe(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  if (typeof x === 'object') return `an object with keys ${Object.keys(x).join(', ') || '(none)'}`;
  return `${typeof x} ${JSON.stringify(x)}`;
}

/** Creates a Distillery with the given plugins registered. */
export function createDistillery(options: DistilleryOptions = {}): Distillery {
  return new Distillery(options);
}
