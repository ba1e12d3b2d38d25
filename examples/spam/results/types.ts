// The results of a run, as results.json holds them: everything RESULTS.md and results.html are drawn from.
import type { HeldoutOutcome } from './heldout.js';
import type { Metrics, ParameterCount } from './measure.js';
import type { StageTiming } from './run-experiment.js';

/** A model measured on the test split. */
export interface ModelResult {
  /** Its name, e.g. 'bert(2x128)'. */
  model: string;
  /** The folder it was read from. */
  dir: string;
  parameters: ParameterCount;
  test: Metrics;
  /** Inference sequences per second on the test split (batch 32), every model measured one after another at the end. */
  sequencesPerSecond: number;
}

/** One row of the table: a method's final student in one regime. */
export interface MethodOutcome {
  method: string;
  label: string;
  /** Regime id ('all', '5pct') and its label. */
  regime: string;
  regimeLabel: string;
  baseline?: boolean;
  student: ModelResult;
  /** Its general-distillation stages (shared by both regimes, prefixed with their run) and its own. */
  stages: StageTiming[];
  /** Labelled e-mails the hard-label terms saw, of the transfer set. */
  labelled?: { count: number; total: number };
}

/** One point of the temperature sweep. */
export interface TemperatureOutcome {
  temperature: number;
  student: ModelResult;
  stages: StageTiming[];
}

/** Where and how the results were made. */
export interface ResultsMeta {
  mode: string;
  command: string;
  /** ISO time the run started. */
  date: string;
  machine: { cpu: string; cores: number; memoryGiB: number; platform: string; node: string };
  /** e.g. 'wasm + @distillery/backend-native kernels (27 ops)'. */
  backend: string;
  seed: number;
  /** Class names of the binary task, by id. */
  classes: string[];
  /** E-mails per split as the runs used them. */
  data: { train: number; validation: number; test: number; maxLength: number };
  /** Wall time of this invocation (with --resume, the runs it reused took none). */
  wallSeconds: number;
  /** Every run's stages, summed (each run once, reused ones included), and how many runs this invocation reused. */
  training: { stageSeconds: number; runs: number; reused: number };
  /** CPU time of the process, every thread: compared with wallSeconds, how much of the machine the run had. */
  cpuSeconds: number;
}

/** Everything a results run measured. */
export interface ResultsData {
  meta: ResultsMeta;
  teacher: { result: ModelResult; stages: StageTiming[] };
  methods: MethodOutcome[];
  temperature: TemperatureOutcome[];
  heldout?: HeldoutOutcome & { stages: StageTiming[] };
}
