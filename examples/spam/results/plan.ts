// Which experiment files the results run, in what order, and what each row of the table is.

/** A run other runs read from (its students are checkpoints of later files). */
export interface SharedRun {
  id: string;
  file: string;
}

/** A method of the table: one experiment file, run in each regime. */
export interface MethodSpec {
  /** Row key and run folder prefix. */
  key: string;
  /** As the table names it. */
  label: string;
  file: string;
  /** Shared runs whose stages belong to this method (its general distillation), timed with it. */
  shared?: string[];
  /** The from-scratch student every method is compared with. */
  baseline?: boolean;
}

/** The teacher: MLM pre-training then fine-tuning, read by every other file. */
export const TEACHER_RUN: SharedRun = { id: 'teacher', file: 'teacher.yaml' };

/** General distillation from the pre-trained teacher, shared by both regimes of its method. */
export const GENERAL_RUNS: readonly SharedRun[] = [
  { id: 'tinybert-general', file: 'tinybert-general.yaml' },
  { id: 'minilm-general', file: 'minilm-general.yaml' },
  { id: 'distilbert-general', file: 'distilbert-general.yaml' },
];

/** The rows of the table, in order. */
export const METHODS: readonly MethodSpec[] = [
  { key: 'baseline', label: 'from scratch (hard labels only)', file: 'baseline.yaml', baseline: true },
  { key: 'hinton', label: 'Hinton KD', file: 'hinton.yaml' },
  { key: 'bilstm', label: 'Distilled BiLSTM (logit MSE)', file: 'bilstm.yaml' },
  { key: 'pkd', label: 'BERT-PKD (Skip)', file: 'pkd.yaml' },
  { key: 'tinybert', label: 'TinyBERT (general + task)', file: 'tinybert.yaml', shared: ['tinybert-general'] },
  { key: 'minilm', label: 'MiniLM (general via assistant + task)', file: 'minilm.yaml', shared: ['minilm-general'] },
  { key: 'distilbert', label: 'DistilBERT (general + task)', file: 'distilbert.yaml', shared: ['distilbert-general'] },
];

/** Hinton et al. (2015): the temperature sweep (5 % of the labels) and the held-out class. */
export const TEMPERATURE_FILE = 'temperature.yaml';
export const HELDOUT_TEACHER_RUN: SharedRun = { id: 'heldout-teacher', file: 'heldout-teacher.yaml' };
export const HELDOUT_FILE = 'heldout.yaml';

/** Experiment ids accepted by --only ('teacher' alone runs only the teacher, which every other needs and runs first). */
export const EXPERIMENT_IDS: readonly string[] = ['teacher', ...METHODS.map((m) => m.key), 'temperature', 'heldout'];
