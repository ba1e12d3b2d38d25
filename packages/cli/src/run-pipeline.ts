import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  DistilleryError, hasCheckpoint,
  type BackendPreference, type Callback, type Distillery, type PipelineEntry, type StageConfig, type StageModels, type Student,
  type Teacher,
} from '@distillery/core';
import { writeFileAtomic } from '@distillery/core/kit';
import { saveTokenizerJson, type TokenizerJson } from '@distillery/models';
import { MetricsLog } from './metrics-log.js';
import { Progress } from './progress.js';
import { compareModels } from './report/compare.js';
import { RUN_FILES, writeReport } from './report/index.js';
import { selectCliBackend } from './internals/backend.js';
import { logitsCache, teacherWeights } from './internals/logits-cache.js';

/** Options of runPipeline. */
export interface RunPipelineOptions {
  distillery: Distillery;
  /** Stages (or stage plugins) in order, as a config loader or a program built them. */
  stages: PipelineEntry[];
  /** The run folder: metrics.jsonl, report.html, run.json, students/, and checkpoints/<stage> for stages without a checkpoint dir (absent or empty). */
  out: string;
  /** Continue from the checkpoints in the run folder; completed stages are restored, not retrained. @default false */
  resume?: boolean;
  /** Start over even though checkpoints of an earlier run exist (they are deleted). @default false */
  force?: boolean;
  /** @default 'auto' */
  backend?: BackendPreference;
  /** Aborting asks for a graceful stop: the current step finishes, `last/` is written, the run resolves 'interrupted'. */
  signal?: AbortSignal;
  /** Where progress goes. @default silent */
  progress?: Progress;
  /** Write report.html at the end. @default true */
  report?: boolean;
  /** Measure teacher vs student (parameters, metrics, speed) when each stage ends. @default true */
  compare?: boolean;
  /** The report's title. @default 'Distillery run' */
  title?: string;
  /**
   * Stages whose losses read only the teacher's logits, on data that is not MLM-masked, read them
   * from a cache under `<out>/cache/`, built on the stage's first step and reused by later runs and
   * `--resume`. A stage's own `teacherCache` wins (`false`: the live teacher). @default true
   */
  teacherCache?: boolean;
  /** Recorded in metrics.jsonl and run.json: the pipeline file and the command line. */
  pipeline?: string;
  command?: string;
}

/** How one stage ended in this invocation. */
export interface StageOutcome {
  stage: string;
  status: 'completed' | 'interrupted';
  step: number;
  totalSteps?: number;
  /** The stage's checkpoint folder (holding last/ and best/). */
  checkpoint: string;
  /** The folder the student was saved to (completed stages). */
  student?: string;
  /** Wall time of the stage, from its start to its end, summed over this run's invocations (resumes). */
  wallSeconds?: number;
}

/** What runPipeline did. */
export interface RunPipelineResult {
  status: 'completed' | 'interrupted';
  out: string;
  metrics: string;
  report?: string;
  stages: StageOutcome[];
  /** Where the run stopped, when interrupted. */
  interrupted?: { stage: string; step: number; totalSteps?: number; checkpoint: string };
}

/**
 * Runs a pipeline the way `distillery run` does: every stage checkpoints (to its own
 * `checkpoint.dir`, else `<out>/checkpoints/<stage>`), events go to `<out>/metrics.jsonl` and to
 * `progress`, each completed stage's student is saved to `<out>/students/<stage>` and measured
 * against its teacher, and `<out>/report.html` is written at the end (also after an interrupt or
 * a failure, from what was logged). Each stage's wall time goes to metrics.jsonl (its `stage-end`
 * record) and run.json.
 *
 * Teacher cache (`teacherCache`, on by default): a stage whose losses read only the teacher's
 * logits, on training data that is not MLM-masked, reads them from `<out>/cache/logits-<key>`,
 * built when its first step is due and reused as long as the teacher's weights and the training
 * inputs are the same (internals/logits-cache.ts); evaluation and the comparison run the live teacher.
 *
 * Resuming sets `checkpoint.resume` on every stage. A completed stage's `last/` checkpoint is at
 * its final step, so core's Distiller trains nothing, reloads the weights and restores the best
 * epoch from `best/`: the student a later stage sees is bit-for-bit the one the first invocation
 * produced. The interrupted stage continues from its `last/` (weights, optimizer moments, step,
 * history); stages after it run as usual.
 *
 * Interrupting (aborting `signal`) is core's: the step finishes, a due evaluation runs, `last/` is
 * written. A stage stopped on its very last step completes (its student is saved), and the run
 * stops before the next stage; the run's `interrupted` then names that stage.
 */
export async function runPipeline(options: RunPipelineOptions): Promise<RunPipelineResult> {
  const {
    distillery, resume = false, force = false, backend = 'auto', signal, report = true, compare = true, teacherCache = true, title,
    pipeline, command,
  } = options;
  const progress = options.progress ?? new Progress({ stream: { write: () => true }, tty: false });
  const out = path.resolve(options.out);
  const stages = distillery.expand(options.stages);
  const checkpointDir = new Map(stages.map((s) => [s.name, path.resolve(s.checkpoint?.dir || path.join(out, 'checkpoints', s.name))]));
  await fs.mkdir(out, { recursive: true });
  if (!resume) await clearOrRefuse(stages, checkpointDir, out, force);
  else await requireSomethingToResume(stages, checkpointDir);

  const metricsFile = path.join(out, RUN_FILES.metrics);
  const metrics = new MetricsLog(metricsFile, { append: resume });
  const outcomes = new Map<string, StageOutcome>();
  const manifest = async (status: string) => writeFileAtomic(path.join(out, RUN_FILES.manifest), `${JSON.stringify({
    format: 'distillery-run/1', status, pipeline, command,
    stages: stages.map((s) => ({ name: s.name, checkpoint: checkpointDir.get(s.name), ...outcomes.get(s.name) })),
    updatedAt: new Date().toISOString(),
  }, null, 2)}\n`);

  // Each stage's models as core resolved them, handed over by onStageStart.
  const models = new Map<string, StageModels>();
  // The earlier student behind each `{ stage }` teacher (its weights fingerprint the teacher), set when the stage starts.
  const stageOf = new WeakMap<Teacher, Student>();
  const cacheHook = logitsCache({
    root: path.join(out, 'cache'), logger: progress.logger, record: (r) => metrics.write({ event: 'teacher-cache', ...r }),
    weights: (teacher) => teacherWeights(teacher, stageOf.get(teacher)),
  });
  // A stage's own hook or `false` wins; `true` or nothing takes the CLI's unless the run turns it off.
  const cacheOf = (stage: StageConfig) =>
    (typeof stage.teacherCache === 'function' || stage.teacherCache === false || !teacherCache ? stage.teacherCache : cacheHook);

  try {
    await selectCliBackend(backend, progress.logger);
    metrics.write({ event: 'run', pipeline, resume, backend: tf.getBackend(), command });
    await manifest('running');
    const instrumented: StageConfig[] = stages.map((stage, index) => ({
      ...stage,
      checkpoint: { ...stage.checkpoint, dir: checkpointDir.get(stage.name)!, resume: resume || stage.checkpoint?.resume === true },
      teacherCache: cacheOf(stage),
      callbacks: [
        ...(stage.callbacks ?? []),
        metrics.callback(index, stages.length),
        progress.callback(index, stages.length),
        finishCallback(stage),
      ],
    }));
    const { status } = await distillery.run(instrumented, { signal });
    progress.done();
    metrics.write({ event: 'run-end', status });
    await manifest(status);
    const reportFile = report ? await writeReport(out, { title }) : undefined;
    // The interrupted stage; or, when the stop came on a stage's last step (it completed), that stage.
    const interrupted = [...outcomes.values()].find((o) => o.status === 'interrupted') ?? [...outcomes.values()].at(-1);
    return {
      status, out, metrics: metricsFile, report: reportFile, stages: [...outcomes.values()],
      ...(status === 'interrupted' && interrupted
        ? { interrupted: { stage: interrupted.stage, step: interrupted.step, totalSteps: interrupted.totalSteps, checkpoint: interrupted.checkpoint } }
        : {}),
    };
  } catch (error) {
    progress.done();
    metrics.write({ event: 'run-end', status: 'failed', error: (error as Error)?.message ?? String(error) });
    await manifest('failed').catch(() => undefined);
    // The loss curves up to the failure are what one wants to look at after a divergence.
    if (report) await writeReport(out, { title }).catch(() => undefined);
    throw error;
  } finally {
    metrics.close();
  }

  /** Saves the student and measures it against its teacher when its stage completes. */
  function finishCallback(stage: StageConfig): Callback {
    let totalSteps: number | undefined;
    return {
      onStageStart: (e, stageModels) => {
        totalSteps = e.totalSteps;
        models.set(stage.name, stageModels);
        const earlier = isStageRef(stage.teacher) ? models.get(stage.teacher.stage)?.student : undefined;
        if (earlier && stageModels.teacher) stageOf.set(stageModels.teacher, earlier);
        outcomes.delete(stage.name);
      },
      onCheckpoint: (e) => {
        if (e.kind === 'last') {
          outcomes.set(stage.name, { stage: stage.name, status: 'interrupted', step: e.step, totalSteps, checkpoint: checkpointDir.get(stage.name)! });
        }
      },
      onStageEnd: async (e) => {
        const outcome: StageOutcome = {
          stage: stage.name, status: e.status, step: e.step, totalSteps, checkpoint: checkpointDir.get(stage.name)!,
          wallSeconds: metrics.wallSeconds(stage.name),
        };
        outcomes.set(stage.name, outcome);
        if (e.status !== 'completed') return;
        const { student, teacher } = models.get(stage.name)!;
        outcome.student = path.join(out, 'students', stage.name);
        await student.save(outcome.student);
        // With its tokenizer beside it, `distillery eval` reads text for it without --tokenizer.
        const tokenizer = tokenizerJson(stage);
        if (tokenizer) await saveTokenizerJson(outcome.student, tokenizer);
        progress.line(`stage '${stage.name}': student saved to ${outcome.student}`);
        // An earlier stage's student is measured itself, not through its frozen view (which may not count its parameters).
        const earlier = isStageRef(stage.teacher) ? models.get(stage.teacher.stage)?.student : undefined;
        if (compare) compareStage(stage, student, earlier ?? teacher);
      },
    };
  }

  function compareStage(stage: StageConfig, student: Student, teacher: Teacher | undefined): void {
    const rows = compareModels({
      teacher, student, validation: stage.data.validation, train: stage.data.train,
      batchSize: stage.evaluation?.batchSize ?? stage.batchSize ?? 32,
    });
    metrics.write({ event: 'compare', stage: stage.name, rows, data: stage.data.validation ? 'validation' : 'train' });
    for (const r of rows) {
      const m = r.metrics ? Object.entries(r.metrics).map(([k, v]) => `${k}=${v.toFixed(4)}`).join(' ') : '';
      progress.line(`stage '${stage.name}' ${r.role} ${r.model}: ${r.parameters?.toLocaleString('en-US') ?? '?'} parameters` +
        `${m ? `, ${m}` : ''}${r.examplesPerSecond ? `, ${r.examplesPerSecond.toFixed(1)} examples/s` : ''}${r.note ? ` (${r.note})` : ''}`);
    }
  }
}

/** The tokenizer.json of a stage's text data (a TextBatchSource's encoder, when it is a models Tokenizer). */
function tokenizerJson(stage: StageConfig): TokenizerJson | undefined {
  for (const source of [stage.data.train, stage.data.validation]) {
    const json = (source as { encoder?: { json?: unknown } } | undefined)?.encoder?.json;
    if (json && typeof json === 'object') return json as TokenizerJson;
  }
  return undefined;
}

/** `{ stage: 'name' }`: an earlier stage's student. */
const isStageRef = (x: unknown): x is { stage: string } =>
  typeof x === 'object' && x !== null && typeof (x as { forward?: unknown }).forward !== 'function' &&
  typeof (x as { stage?: unknown }).stage === 'string';

/**
 * `--resume` must find something to continue, never silently start over: the first stage's checkpoints
 * (`last/`, `best/` or a `last.old-*` a crash left; whether they are intact, the stage decides). A later
 * stage without any starts when the one before it completes; checkpoints of a later stage after a stage
 * without any are from another run.
 */
async function requireSomethingToResume(stages: StageConfig[], dirs: Map<string, string>): Promise<void> {
  const present: boolean[] = [];
  for (const s of stages) {
    const dir = dirs.get(s.name)!;
    present.push(await hasCheckpoint(path.join(dir, 'last')) || await hasCheckpoint(path.join(dir, 'best')));
  }
  if (!present[0]) {
    throw new DistilleryError(`--resume: nothing to resume: stage '${stages[0]!.name}' has no checkpoint in ` +
      `${dirs.get(stages[0]!.name)} (no last/, best/ or last.old-*); run without --resume to start afresh ` +
      `(with --force if an earlier run left files)`, 'checkpoint');
  }
  const gap = present.indexOf(false);
  const later = gap < 0 ? -1 : present.indexOf(true, gap);
  if (later >= 0) {
    throw new DistilleryError(`--resume: stage '${stages[later]!.name}' has checkpoints (${dirs.get(stages[later]!.name)}) ` +
      `but stage '${stages[gap]!.name}' before it has none (${dirs.get(stages[gap]!.name)}): they are not of one run; ` +
      `start afresh with --force`, 'checkpoint');
  }
}

/**
 * A fresh run must not meet checkpoints of an earlier one: a later `--resume` would mix them in
 * (a stage that had completed before would be "restored" with weights from another run). They are
 * deleted with `force`, otherwise the run is refused before anything is built.
 */
async function clearOrRefuse(stages: StageConfig[], dirs: Map<string, string>, out: string, force: boolean): Promise<void> {
  const found: { stage: string; dir: string }[] = [];
  for (const s of stages) {
    if (s.checkpoint?.resume) continue;
    const dir = dirs.get(s.name)!;
    for (const kind of ['last', 'best']) {
      if (await hasCheckpoint(path.join(dir, kind))) found.push({ stage: s.name, dir: path.join(dir, kind) });
    }
  }
  if (found.length && !force) {
    throw new DistilleryError(
      `checkpoints of an earlier run exist (${found.map((f) => `stage '${f.stage}': ${f.dir}`).join('; ')}); ` +
      `continue that run with --resume, or start over with --force (deletes them)`, 'checkpoint');
  }
  if (!force) return;
  for (const s of stages) {
    if (s.checkpoint?.resume) continue;
    const dir = dirs.get(s.name)!;
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (/^\.?(last|best)(\.|$)/.test(name)) await fs.rm(path.join(dir, name), { recursive: true, force: true });
    }
  }
  await fs.rm(path.join(out, 'students'), { recursive: true, force: true });
}
