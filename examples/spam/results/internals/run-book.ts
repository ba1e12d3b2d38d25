// Runs experiment files one after another, numbering them, and with --resume reuses a finished run
// whose folder holds the outcome of the same config (and of the same runs before it).
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { BuiltPipeline, Progress } from '@distillery/cli';
import type { Logger } from '@distillery/core';
import type { Profile } from '../profile.js';
import { hashConfig, runConfig, runExperiment, type ExperimentRun, type RunSpec } from '../run-experiment.js';

/** A finished run and what was measured of it; `hash` identifies its config and the runs it read. */
export interface Done<M> {
  run: ExperimentRun;
  measured: M;
  hash: string;
}

/** What every run of a study shares. */
export interface RunBookOptions {
  experimentsDir: string;
  runDir: string;
  profile: Profile;
  seed?: number;
  resume: boolean;
  command: string;
  logger: Logger;
  progress?: () => Progress;
  /** Runs planned, for the [k/n] counter. */
  total: number;
}

/** The runs of one study. */
export class RunBook {
  private count = 0;
  private readonly stageSeconds = new Map<string, number>();
  private readonly reused = new Set<string>();

  constructor(private readonly options: RunBookOptions) {}

  /** Runs one experiment file (or reuses its earlier outcome with --resume) and measures what it left. */
  async run<M>(spec: Omit<RunSpec, 'runDir' | 'profile' | 'seed'>, deps: string[],
    measure: (built: BuiltPipeline, run: ExperimentRun) => Promise<M>): Promise<Done<M>> {
    const { experimentsDir, runDir, profile, seed, resume, command, logger } = this.options;
    const full: RunSpec = { ...spec, file: path.join(experimentsDir, spec.file), runDir, profile, ...(seed === undefined ? {} : { seed }) };
    const hash = hashConfig({ raw: await runConfig(full), deps });
    const saved = path.join(runDir, spec.id, 'outcome.json');
    const tag = `[${++this.count}/${this.options.total}] ${spec.id}`;
    if (resume && existsSync(saved)) {
      const done = JSON.parse(await fs.readFile(saved, 'utf8')) as Done<M>;
      if (done.hash === hash) {
        logger.info(`${tag}: reused (${saved})`);
        this.record(spec.id, done, true);
        return done;
      }
    }
    logger.info(`${tag}: ${path.relative(process.cwd(), full.file)}`);
    const started = Date.now();
    const { run, built } = await runExperiment(full, { logger, progress: this.options.progress?.(), command });
    const done: Done<M> = { run, measured: await measure(built, run), hash };
    await fs.writeFile(saved, `${JSON.stringify(done, null, 2)}\n`);
    logger.info(`${tag}: done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    this.record(spec.id, done, false);
    return done;
  }

  /**
   * Wall time of every run's stages, summed over the runs of the study (each once), those reused from an
   * earlier invocation included: the study's training time however many invocations made it.
   */
  get timing(): { stageSeconds: number; runs: number; reused: number } {
    let stageSeconds = 0;
    for (const s of this.stageSeconds.values()) stageSeconds += s;
    return { stageSeconds, runs: this.stageSeconds.size, reused: this.reused.size };
  }

  private record(id: string, done: Done<unknown>, reused: boolean): void {
    this.stageSeconds.set(id, done.run.stages.reduce((t, s) => t + s.seconds, 0));
    if (reused) this.reused.add(id);
  }
}
