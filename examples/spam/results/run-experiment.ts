// Runs one experiment file through the CLI's programmatic API, resized by a profile and set to a regime.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { buildPipeline, ConfigError, parsePipelineConfig, runPipeline, type BuiltPipeline, type Progress } from '@distillery/cli';
import * as tf from '@tensorflow/tfjs-core';
import type { Logger } from '@distillery/core';
import { countLabelled } from './measure.js';
import { applyProfile, retarget, type Profile } from './profile.js';
import { applyRegime, TRANSFER_DATASET, type Regime } from './regime.js';

/** One run of an experiment file. */
export interface RunSpec {
  /** Folder name under the run folder: 'hinton-5pct', 'temperature-T4'. */
  id: string;
  /** The experiment file (absolute). */
  file: string;
  /** The results run folder (the files' ../runs/results/ is moved there). */
  runDir: string;
  profile: Profile;
  /** Absent: the file's labels as they are. */
  regime?: Regime;
  /** Overrides the temperature of the first loss of the first stage (the sweep). */
  temperature?: number;
  /** Replaces the file's seed. */
  seed?: number;
}

/** How long a stage trained. */
export interface StageTiming {
  /** The stage name, prefixed with the run id for stages of a shared run. */
  name: string;
  seconds: number;
  /** CPU time of the process during the stage (every thread): against `seconds`, how loaded the machine was. */
  cpuSeconds: number;
  steps: number;
}

/** What one run left behind. */
export interface ExperimentRun {
  id: string;
  out: string;
  /** Hash of the config it ran: a later --resume reuses the run only when it is unchanged. */
  configHash: string;
  stages: StageTiming[];
  /** The folder the last stage's student was saved to. */
  student: string;
  /** Labelled e-mails of the transfer set the hard-label terms could see, when the file has one. */
  labelled?: { count: number; total: number };
}

/** The raw config of a run: the file's YAML with run folder, profile, regime and temperature applied. */
export async function runConfig(spec: RunSpec): Promise<Record<string, any>> {
  let raw = parse(await fs.readFile(spec.file, 'utf8')) as Record<string, any>;
  raw = applyProfile(retarget(raw, spec.runDir), spec.profile);
  if (spec.regime) raw = applyRegime(raw, spec.regime, spec.file);
  if (spec.temperature !== undefined) {
    const loss = raw.stages?.[0]?.losses?.[0];
    if (!loss?.options || loss.options.temperature === undefined) {
      throw new Error(`${spec.file}: stages[0].losses[0].options.temperature is what the sweep sets, but the file has none`);
    }
    loss.options.temperature = spec.temperature;
  }
  return { ...raw, ...(spec.seed === undefined ? {} : { seed: spec.seed }), output: path.join(spec.runDir, spec.id) };
}

/** A short, stable hash of a config object. */
export const hashConfig = (raw: unknown): string => createHash('sha256').update(JSON.stringify(raw)).digest('hex').slice(0, 16);

/** Loads, builds and runs one experiment file; the run folder gets the CLI's metrics.jsonl and report.html. */
export async function runExperiment(spec: RunSpec, { logger, progress, command }: { logger: Logger; progress?: Progress; command?: string }):
Promise<{ run: ExperimentRun; built: BuiltPipeline }> {
  const raw = await runConfig(spec);
  const config = parsePipelineConfig(raw, { baseDir: path.dirname(spec.file), file: spec.file });
  const built = await buildPipeline(config, { logger, file: spec.file });
  const transfer = built.datasets[TRANSFER_DATASET];
  let labelled: ExperimentRun['labelled'];
  if (spec.regime && transfer) {
    labelled = { count: countLabelled(transfer.source), total: transfer.source.size };
  }
  const out = path.join(spec.runDir, spec.id);
  const timings: StageTiming[] = [];
  for (const stage of built.stages) {
    let started = 0;
    let cpu = process.cpuUsage();
    stage.callbacks = [...(stage.callbacks ?? []), {
      onStageStart: () => { started = performance.now(); cpu = process.cpuUsage(); },
      onStageEnd: (e) => {
        const used = process.cpuUsage(cpu);
        timings.push({ name: stage.name, seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6, steps: e.step });
      },
    }];
  }
  const before = new Set(Object.keys(tf.engine().state.registeredVariables));
  let result: Awaited<ReturnType<typeof runPipeline>>;
  try {
    result = await runPipeline({
      distillery: built.distillery, stages: built.stages, out, force: true, backend: built.backend, progress, compare: false,
      title: `${config.description ?? spec.id} (${spec.profile.name} mode)`, pipeline: spec.file, command,
    });
  } finally {
    // runPipeline leaves every stage's models alive (the CLI exits after one pipeline); a study runs dozens in one
    // process, so the weights each run created are freed here. Its students are read back from their folders.
    for (const [name, variable] of Object.entries(tf.engine().state.registeredVariables)) if (!before.has(name)) variable.dispose();
  }
  const last = result.stages[result.stages.length - 1];
  if (result.status !== 'completed' || !last?.student) throw new Error(`${spec.id}: the run did not complete (${result.status})`);
  return { run: { id: spec.id, out, configHash: hashConfig(raw), stages: timings, student: last.student, ...(labelled ? { labelled } : {}) }, built };
}
