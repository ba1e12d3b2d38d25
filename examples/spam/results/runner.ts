// Runs every experiment of the study and measures each final student on the test split.
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModel, Progress, type BuiltPipeline } from '@distillery/cli';
import { selectBackend, silentLogger, type BatchSource, type Logger } from '@distillery/core';
import { BertModel } from '@distillery/models';
import { biasRaise, writeHeldoutData } from './heldout.js';
import { countParameterSplit, metricsOfScored, scoreSource, sequencesPerSecond, speedSource } from './measure.js';
import {
  EXPERIMENT_IDS, GENERAL_RUNS, HELDOUT_FILE, HELDOUT_TEACHER_RUN, METHODS, TEACHER_RUN, TEMPERATURE_FILE, type SharedRun,
} from './plan.js';
import type { Profile } from './profile.js';
import { FEW_LABELS, REGIMES } from './regime.js';
import { hashConfig, partialLabelsSupported, runConfig, runExperiment, type ExperimentRun, type RunSpec, type StageTiming } from './run-experiment.js';
import { SPAM_GROUPS, type SpamGroup } from './internals/spam-groups.js';
import type { MethodOutcome, ModelResult, ResultsData, TemperatureOutcome } from './types.js';

/** Options of runResults. */
export interface RunnerOptions {
  profile: Profile;
  /** Folder of the experiment files. */
  experimentsDir: string;
  /** Where every run's folder goes (checkpoints, students, metrics.jsonl, report.html). */
  runDir: string;
  /** Experiment ids to run (METHODS keys, 'temperature', 'heldout'); the teacher always runs. @default all */
  only?: readonly string[];
  /** The class the held-out experiment removes. @default 'spam' */
  heldout?: SpamGroup;
  /** Replaces every file's seed. @default the files' seed (1) */
  seed?: number;
  /** Reuse runs whose folder holds the outcome of the same config (and the same runs before it). @default false */
  resume?: boolean;
  /** Recorded in RESULTS.md and each run's metrics. */
  command: string;
  /** Where the runner says what it does. @default silent */
  logger?: Logger;
  /** A progress display per run (training bars). @default none */
  progress?: () => Progress;
}

/** Inference speed is measured with this batch size for every model. */
export const SPEED_BATCH = 32;

const cpuOf = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

interface Done<M> { run: ExperimentRun; measured: M; hash: string }

/** Runs the study and returns what RESULTS.md is written from. */
export async function runResults(options: RunnerOptions): Promise<ResultsData> {
  const { profile, experimentsDir, runDir, heldout = 'spam', resume = false, command, logger = silentLogger } = options;
  const only = new Set(options.only ?? EXPERIMENT_IDS);
  for (const id of only) if (!EXPERIMENT_IDS.includes(id)) throw new Error(`unknown experiment '${id}'; known: ${EXPERIMENT_IDS.join(', ')}`);
  if (!SPAM_GROUPS.includes(heldout)) throw new Error(`unknown held-out class '${heldout}'; known: ${SPAM_GROUPS.join(', ')}`);
  const started = Date.now();
  const cpuAtStart = process.cpuUsage();
  const choice = await selectBackend('auto', logger);
  const backend = `${choice.backend}${choice.nativeKernels.length ? ` + @distillery/backend-native kernels (${choice.nativeKernels.length} ops)` : ''}`;
  const partialLabels = partialLabelsSupported() ? 'data' : 'emulated';
  await fs.mkdir(runDir, { recursive: true });

  const methods = METHODS.filter((m) => only.has(m.key));
  const general = GENERAL_RUNS.filter((g) => methods.some((m) => m.shared?.includes(g.id)));
  const total = 1 + general.length + methods.length * REGIMES.length + (only.has('temperature') ? profile.temperatures.length : 0) +
    (only.has('heldout') ? 2 : 0);
  let count = 0;

  /** Runs one spec (or reuses its earlier outcome with --resume) and measures what it left. */
  async function run<M>(spec: Omit<RunSpec, 'runDir' | 'profile' | 'seed'>, deps: string[],
    measure: (built: BuiltPipeline, run: ExperimentRun) => Promise<M>): Promise<Done<M>> {
    const full: RunSpec = { ...spec, file: path.join(experimentsDir, spec.file), runDir, profile, ...(options.seed === undefined ? {} : { seed: options.seed }) };
    const raw = await runConfig(full, { partialLabels: partialLabels === 'data' });
    const hash = hashConfig({ raw, deps });
    const saved = path.join(runDir, spec.id, 'outcome.json');
    count++;
    if (resume && existsSync(saved)) {
      const done = JSON.parse(await fs.readFile(saved, 'utf8')) as Done<M>;
      if (done.hash === hash) {
        logger.info(`[${count}/${total}] ${spec.id}: reused (${saved})`);
        return done;
      }
    }
    logger.info(`[${count}/${total}] ${spec.id}: ${path.relative(process.cwd(), full.file)}`);
    const t0 = Date.now();
    const { run: result, built } = await runExperiment(full, { logger, progress: options.progress?.(), command });
    const measured = await measure(built, result);
    const done: Done<M> = { run: result, measured, hash };
    await fs.writeFile(saved, `${JSON.stringify(done, null, 2)}\n`);
    logger.info(`[${count}/${total}] ${spec.id}: done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    return done;
  }

  const testOf = (built: BuiltPipeline): BatchSource => {
    const test = built.datasets.test?.source;
    if (!test) throw new Error(`${built.file}: has no 'test' dataset for the final table`);
    return test;
  };
  // Speed is measured at the end, every model one after another, so that they share the machine's load.
  const measureDir = async (dir: string, test: BatchSource): Promise<ModelResult> => {
    const { model } = await loadModel(dir);
    try {
      const scored = scoreSource(model, test, SPEED_BATCH);
      const classes = Math.max(...scored.logits.map((r) => r.length));
      return { model: model.name, dir, parameters: countParameterSplit(model), test: metricsOfScored(scored, classes), sequencesPerSecond: Number.NaN };
    } finally {
      model.dispose();
    }
  };
  const sharedRun = (shared: SharedRun, deps: string[]) => run({ id: shared.id, file: shared.file }, deps, async () => ({}));
  const prefixed = (id: string, stages: StageTiming[]) => stages.map((s) => ({ ...s, name: `${id}/${s.name}` }));

  // The teacher, then the general distillation each selected method starts from.
  const teacher = await run({ id: TEACHER_RUN.id, file: TEACHER_RUN.file }, [], async (built, r) => {
    const train = built.datasets.train;
    const data: ResultsData['meta']['data'] = {
      train: train.source.size, validation: built.datasets.validation.source.size, test: testOf(built).size, maxLength: train.maxLength,
    };
    return { result: await measureDir(path.join(r.out, 'students', 'finetune'), testOf(built)), data, seed: built.seed };
  });
  const sharedDone = new Map<string, Done<unknown>>();
  for (const g of general) sharedDone.set(g.id, await sharedRun(g, [teacher.hash]));

  const outcomes: MethodOutcome[] = [];
  for (const method of methods) {
    const deps = [teacher.hash, ...(method.shared ?? []).map((id) => sharedDone.get(id)!.hash)];
    const sharedStages = (method.shared ?? []).flatMap((id) => prefixed(id, sharedDone.get(id)!.run.stages));
    for (const regime of REGIMES) {
      const done = await run({ id: `${method.key}-${regime.id}`, file: method.file, regime }, deps,
        async (built, r) => measureDir(r.student, testOf(built)));
      outcomes.push({
        method: method.key, label: method.label, regime: regime.id, regimeLabel: regime.label, ...(method.baseline ? { baseline: true } : {}),
        student: done.measured, stages: [...sharedStages, ...done.run.stages], ...(done.run.labelled ? { labelled: done.run.labelled } : {}),
      });
    }
  }

  const temperature: TemperatureOutcome[] = [];
  if (only.has('temperature')) {
    for (const T of profile.temperatures) {
      const done = await run({ id: `temperature-T${T}`, file: TEMPERATURE_FILE, regime: FEW_LABELS, temperature: T }, [teacher.hash],
        async (built, r) => measureDir(r.student, testOf(built)));
      temperature.push({ temperature: T, student: done.measured, stages: done.run.stages });
    }
  }

  let heldoutOutcome: ResultsData['heldout'];
  if (only.has('heldout')) {
    const counts = await writeHeldoutData(path.join(runDir, 'heldout', 'data'), heldout);
    const dataHash = hashConfig({ heldout, counts });
    const hTeacher = await run({ id: HELDOUT_TEACHER_RUN.id, file: HELDOUT_TEACHER_RUN.file }, [teacher.hash, dataHash],
      async (built, r) => measureDir(path.join(r.out, 'students', 'finetune'), testOf(built)));
    const student = await run({ id: 'heldout', file: HELDOUT_FILE }, [hTeacher.hash, dataHash], async (built, r) => {
      const { model } = await loadModel(r.student);
      try {
        if (!(model instanceof BertModel)) throw new Error(`heldout: the student must be a BERT model, got ${model.name}`);
        const validation = built.datasets['validation-all']?.source;
        if (!validation) throw new Error(`${HELDOUT_FILE}: needs a dataset 'validation-all' (every class) to choose the bias on`);
        const transfer = built.datasets.train.examples ?? [];
        const transferCounts = Object.fromEntries(SPAM_GROUPS.map((g, c) => [g, transfer.filter((e) => e.label === c).length]));
        return { ...biasRaise(model, { validation, test: testOf(built) }, heldout, profile.biasGrid, SPEED_BATCH), transferCounts };
      } finally {
        model.dispose();
      }
    });
    heldoutOutcome = {
      heldout, classes: SPAM_GROUPS, teacher: hTeacher.measured.test, ...student.measured,
      stages: [...prefixed(HELDOUT_TEACHER_RUN.id, hTeacher.run.stages), ...student.run.stages],
    };
  }

  logger.info(`inference speed of the teacher and the students (${profile.throughputBatches ?? 'all'} batches of ${SPEED_BATCH})`);
  const speed = speedSource(teacher.measured.data.maxLength, profile.evalLimit);
  const speedOf = async (dir: string) => {
    const { model } = await loadModel(dir);
    try {
      return sequencesPerSecond(model, speed, SPEED_BATCH, profile.throughputBatches);
    } finally {
      model.dispose();
    }
  };
  const teacherResult: ModelResult = { ...teacher.measured.result };
  const teacherFirst = await speedOf(teacherResult.dir);
  for (const outcome of outcomes) outcome.student = { ...outcome.student, sequencesPerSecond: await speedOf(outcome.student.dir) };
  // The teacher again after the students, averaged: load that changes during the pass weighs on both sides.
  teacherResult.sequencesPerSecond = (teacherFirst + await speedOf(teacherResult.dir)) / 2;

  const cpus = os.cpus();
  return {
    meta: {
      mode: profile.name, command, date: new Date(started).toISOString(),
      machine: { cpu: cpus[0]?.model.trim() ?? 'unknown', cores: cpus.length, memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        platform: `${os.platform()} ${os.arch()}`, node: process.version },
      backend, seed: teacher.measured.seed, partialLabels, classes: ['ham', 'spam'], data: teacher.measured.data,
      wallSeconds: (Date.now() - started) / 1000, cpuSeconds: cpuOf(process.cpuUsage(cpuAtStart)),
    },
    teacher: { result: teacherResult, stages: teacher.run.stages },
    methods: outcomes, temperature, ...(heldoutOutcome ? { heldout: heldoutOutcome } : {}),
  };
}
