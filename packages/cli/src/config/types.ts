// Types of a parsed pipeline config (what parsePipelineConfig returns). Paths are absolute.
import type { BackendPreference, CheckpointConfig, StageSettings } from '@distillery/core';

/** A model built by a teacher/student plugin: `type` is the plugin name, every other key one of its options. */
export interface ModelDef {
  type: string;
  [option: string]: unknown;
}

/** Where a stage's teacher or student comes from: a name under `models`, an earlier stage's student, or inline. */
export type ModelRefDef = string | { stage: string } | ModelDef;

/** A registered plugin by name, with its options. */
export interface PluginRefDef {
  use: string;
  options?: Record<string, unknown>;
}

/** One loss of a stage. */
export interface LossDef extends PluginRefDef {
  /** @default 1 */
  weight?: number;
}

/** DistilBERT masking applied to a stage's training batches (see @distillery/data mlmSource). */
export interface MlmDef {
  probability?: number;
  maskFraction?: number;
  randomFraction?: number;
  smoothing?: number;
  seed?: number;
}

/** The stage fields shared by stages and teacher-assistant chains; the plain settings are core's StageSettings. */
export interface StageFieldsDef extends Omit<StageSettings, 'checkpoint'> {
  losses: LossDef[];
  mapping?: string | PluginRefDef;
  data: { train: string; validation?: string };
  /** `dir` absent: the CLI puts checkpoints in its run folder; elsewhere none are written. */
  checkpoint?: Omit<CheckpointConfig, 'dir'> & { dir?: string };
  callbacks?: PluginRefDef[];
  mlm?: MlmDef;
  /** Read a logits-only stage's teacher logits from the run folder's cache (the CLI). @default the file's teacherCache, else true */
  teacherCache?: boolean;
}

/** One stage as written in a file. */
export interface StageDef extends StageFieldsDef {
  name: string;
  teacher?: ModelRefDef;
  student: ModelRefDef;
}

/** One assistant's sizes; the teacher's model plugin builds a model like the teacher with them. */
export interface AssistantShapeDef {
  numLayers: number;
  hiddenSize: number;
  /** @default chosen by the chain (the student's or teacher's heads) */
  numHeads?: number;
  /** @default chosen by the chain */
  intermediateSize?: number;
}

/** The options of a `{ use: 'teacher-assistant' }` entry. */
export interface TeacherAssistantDef extends StageFieldsDef {
  name?: string;
  teacher: ModelRefDef;
  student: ModelRefDef;
  assistant?: 'auto' | 'none' | AssistantShapeDef[];
  assistantOptions?: Record<string, unknown>;
  assistantStage?: Partial<StageFieldsDef>;
  studentStage?: Partial<StageFieldsDef>;
}

/** A stage plugin entry: expands into stages. */
export type StagePluginDef =
  | { use: 'teacher-assistant'; options: TeacherAssistantDef }
  | { use: string; options?: Record<string, unknown> };

/** Fields every text dataset shares. */
export interface TextDataFields {
  /** 'bert-base-uncased' (bundled) or a tokenizer.json file / model folder (absolute after parsing). */
  tokenizer: string;
  /** Longest sequence, special tokens included. @default 128 */
  maxLength?: number;
  /** @default 'longest' */
  padding?: 'longest' | 'max_length';
  /** Keep this many examples, drawn at random with the file's seed. */
  limit?: number;
}

/** Which rows of a labelled dataset keep their label (the data package's keepLabels); `fraction` or `count`. */
export interface KeepLabelsDef {
  /** Share of the labelled rows that keep their label, in [0, 1]. */
  fraction?: number;
  /** Number of rows that keep their label. */
  count?: number;
  /** @default the file's seed */
  seed?: number;
  /** Keep the class shares. @default true (false for regression) */
  stratify?: boolean;
  /** The rows whose label is hidden: kept with label -100 ('hide', for soft targets) or left out ('drop'). @default 'hide' */
  others?: 'hide' | 'drop';
}

/** Fields of the datasets that can be labelled. */
export interface LabelFieldsDef {
  /** Keep the labels of a seeded subset of the rows (after `limit`), hide the others (-100). */
  keepLabels?: KeepLabelsDef;
  /** Draw `limit` within each class, keeping the class shares. @default false */
  stratify?: boolean;
}

/** A named dataset. */
export type DatasetDef =
  | (TextDataFields & LabelFieldsDef & { type: 'spam-assassin'; split?: 'train' | 'validation' | 'test'; labelled?: boolean; keepSubject?: boolean })
  | (TextDataFields & { type: 'moby-dick'; unit?: 'paragraph' | 'sentence'; minLength?: number })
  | (TextDataFields & LabelFieldsDef & {
    type: 'jsonl' | 'csv' | 'tsv'; path: string;
    columns?: { text?: string | number; textPair?: string | number | null; label?: string | number | null };
    task?: 'classification' | 'regression'; labels?: string[]; header?: boolean; delimiter?: string;
    onBadRow?: 'fail' | 'skip'; labelled?: boolean;
    /** A null (JSONL) or empty (CSV/TSV) label is hidden (-100) instead of a bad row. @default false (true with keepLabels) */
    hiddenLabels?: boolean;
  })
  | (LabelFieldsDef & {
    type: 'synthetic'; numClasses: number; vocabSize: number; seqLength: number; size: number; signal?: number;
    keywordsPerClass?: number; seed?: number; taskSeed?: number; labelled?: boolean; limit?: number;
  });

/** A validated pipeline config. */
export interface PipelineConfig {
  /** @default 'auto' */
  backend: BackendPreference;
  /** The default seed of every stage and of dataset sampling. @default 42 */
  seed: number;
  /** User plugin modules: absolute paths, or package names resolved from baseDir. */
  plugins: string[];
  /** A folder for run outputs written by tools (the CLI's metrics and report), absolute. */
  output?: string;
  /** Free text shown by tools. */
  description?: string;
  /** Every stage's teacherCache unless the stage gives one. @default true (the CLI's) */
  teacherCache?: boolean;
  models: Record<string, ModelDef>;
  data: Record<string, DatasetDef>;
  stages: (StageDef | StagePluginDef)[];
  /** The folder relative paths were resolved against (the config file's folder). */
  baseDir: string;
}
