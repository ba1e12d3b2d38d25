// Runs every experiment of the study and measures each final student on the test split.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Progress } from '@distillery/cli';
import { selectBackend, silentLogger, type Logger } from '@distillery/core';
import { nativeKernels } from '@distillery/backend-native';
import { runHeldout } from './heldout.js';
import { measureModelDir, SPEED_BATCH, speedOf, speedSource, testSource } from './measure.js';
import { EXPERIMENT_IDS, GENERAL_RUNS, METHODS, TEACHER_RUN, TEMPERATURE_FILE } from './plan.js';
import type { Profile } from './profile.js';
import { FEW_LABELS, REGIMES } from './regime.js';
import type { StageTiming } from './run-experiment.js';
import { RunBook, type Done } from './internals/run-book.js';
import { SPAM_GROUPS, type SpamGroup } from './internals/spam-groups.js';
import type { MethodOutcome, ModelResult, ResultsData, TemperatureOutcome } from './types.js';

/** Options of runResults. */
export interface RunnerOptions {
  profile: Profile;
  /** Folder of the experiment files. */
  experimentsDir: string;
  /** Where every run's folder goes (checkpoints, students, metrics.jsonl, report.html). */
  runDir: string;
  /** Experiment ids to run (EXPERIMENT_IDS); the teacher always runs. @default all */
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

const cpuOf = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;
const prefixed = (id: string, stages: StageTiming[]) => stages.map((s) => ({ ...s, name: `${id}/${s.name}` }));

/** Runs the study and returns what RESULTS.md is written from. */
export async function runResults(options: RunnerOptions): Promise<ResultsData> {
  const { profile, runDir, heldout = 'spam', command, logger = silentLogger } = options;
  const only = new Set(options.only ?? EXPERIMENT_IDS);
  for (const id of only) if (!EXPERIMENT_IDS.includes(id)) throw new Error(`unknown experiment '${id}'; known: ${EXPERIMENT_IDS.join(', ')}`);
  if (!SPAM_GROUPS.includes(heldout)) throw new Error(`unknown held-out class '${heldout}'; known: ${SPAM_GROUPS.join(', ')}`);
  const started = Date.now();
  const cpuAtStart = process.cpuUsage();
  const choice = await selectBackend('auto', { logger, extensions: [nativeKernels()] });
  const replaced = choice.extensions.reduce((n, e) => n + e.replaced.length, 0);
  const backend = `${choice.backend}${replaced ? ` + @distillery/backend-native kernels (${replaced} ops)` : ''}`;
  await fs.mkdir(runDir, { recursive: true });

  const methods = METHODS.filter((m) => only.has(m.key));
  const general = GENERAL_RUNS.filter((g) => methods.some((m) => m.shared?.includes(g.id)));
  const total = 1 + general.length + methods.length * REGIMES.length + (only.has('temperature') ? profile.temperatures.length : 0) +
    (only.has('heldout') ? 2 : 0);
  const book = new RunBook({ ...options, resume: options.resume ?? false, logger, total });

  // The teacher, then the general distillation each selected method starts from.
  const teacher = await book.run({ id: TEACHER_RUN.id, file: TEACHER_RUN.file }, [], async (built, r) => {
    const train = built.datasets.train;
    const data: ResultsData['meta']['data'] = {
      train: train.source.size, validation: built.datasets.validation.source.size, test: testSource(built).size, maxLength: train.maxLength,
    };
    return { result: await measureModelDir(path.join(r.out, 'students', 'finetune'), testSource(built)), data, seed: built.seed };
  });
  const shared = new Map<string, Done<unknown>>();
  for (const g of general) shared.set(g.id, await book.run({ id: g.id, file: g.file }, [teacher.hash], async () => ({})));

  const outcomes: MethodOutcome[] = [];
  for (const method of methods) {
    const deps = [teacher.hash, ...(method.shared ?? []).map((id) => shared.get(id)!.hash)];
    const sharedStages = (method.shared ?? []).flatMap((id) => prefixed(id, shared.get(id)!.run.stages));
    for (const regime of REGIMES) {
      const done = await book.run({ id: `${method.key}-${regime.id}`, file: method.file, regime }, deps,
        async (built, r) => measureModelDir(r.student, testSource(built)));
      outcomes.push({
        method: method.key, label: method.label, regime: regime.id, regimeLabel: regime.label, ...(method.baseline ? { baseline: true } : {}),
        student: done.measured, stages: [...sharedStages, ...done.run.stages], ...(done.run.labelled ? { labelled: done.run.labelled } : {}),
      });
    }
  }

  const temperature: TemperatureOutcome[] = [];
  if (only.has('temperature')) {
    for (const T of profile.temperatures) {
      const done = await book.run({ id: `temperature-T${T}`, file: TEMPERATURE_FILE, regime: FEW_LABELS, temperature: T }, [teacher.hash],
        async (built, r) => measureModelDir(r.student, testSource(built)));
      temperature.push({ temperature: T, student: done.measured, stages: done.run.stages });
    }
  }

  const heldoutOutcome = only.has('heldout')
    ? await runHeldout(book, { runDir, heldout, teacherHash: teacher.hash, biasGrid: profile.biasGrid })
    : undefined;

  // Speed last, every model one after another, so that they share the machine's load; the teacher before and
  // after the students, averaged, so that load changing during the pass weighs on both sides.
  logger.info(`inference speed of the teacher and the students (${profile.throughputBatches ?? 'all'} batches of ${SPEED_BATCH})`);
  const speed = speedSource(teacher.measured.data.maxLength, profile.evalLimit);
  const teacherResult: ModelResult = { ...teacher.measured.result };
  const teacherFirst = await speedOf(teacherResult.dir, speed, profile.throughputBatches);
  for (const outcome of outcomes) {
    outcome.student = { ...outcome.student, sequencesPerSecond: await speedOf(outcome.student.dir, speed, profile.throughputBatches) };
  }
  teacherResult.sequencesPerSecond = (teacherFirst + await speedOf(teacherResult.dir, speed, profile.throughputBatches)) / 2;

  const cpus = os.cpus();
  return {
    meta: {
      mode: profile.name, command, date: new Date(started).toISOString(),
      machine: { cpu: cpus[0]?.model.trim() ?? 'unknown', cores: cpus.length, memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        platform: `${os.platform()} ${os.arch()}`, node: process.version },
      backend, seed: teacher.measured.seed, classes: ['ham', 'spam'],
      data: teacher.measured.data, wallSeconds: (Date.now() - started) / 1000, training: book.timing, cpuSeconds: cpuOf(process.cpuUsage(cpuAtStart)),
    },
    teacher: { result: teacherResult, stages: teacher.run.stages },
    methods: outcomes, temperature, ...(heldoutOutcome ? { heldout: heldoutOutcome } : {}),
  };
}
