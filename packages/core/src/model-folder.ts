import type { Teacher } from './types.js';

/**
 * The folder formats `distillery export` writes: 'hf', the model's own config.json + model.safetensors
 * (BERT: Hugging Face's layout, which transformers loads), and 'tfjs', TensorFlow.js's model.json and
 * weight shards with config.json beside them.
 */
export type ExportFormat = 'hf' | 'tfjs';

/** How a model folder stores its model. */
export interface FolderFormat {
  /** A short id, e.g. 'hf' or 'tfjs' (`distillery inspect --json` prints it). */
  id: string;
  /** What it is, for people, e.g. 'Hugging Face BERT folder (config.json + model.safetensors)'. */
  description: string;
}

/** A model read from a folder by its plugin's load(), and how the folder stored it. */
export interface LoadedFolder {
  model: Teacher;
  format: FolderFormat;
}

/**
 * What a model tells `distillery inspect`, `eval` and `export` about itself beyond Teacher and Student.
 * Every member is optional: a model without one is inspected and evaluated through Teacher alone (and
 * cannot be exported without exportTo).
 */
export interface ModelDetails {
  /** Its own resolved config, as saved (BERT: the Hugging Face config). */
  readonly config?: object;
  /** Its output heads, e.g. ['classification'], when it has a choice of them. */
  readonly heads?: readonly string[];
  /** The format its save() writes (a model rebuilt from a checkpoint is described by it). */
  readonly savedFormat?: FolderFormat;
  /** Label names by output id, when its config names them (not placeholders such as LABEL_0). */
  labelNames?(): string[] | undefined;
  /** Number of parameters. */
  parameterCount?(): number;
  /** Parameters by part (e.g. embeddings, encoder, each head); they sum to parameterCount(). */
  parameterParts?(): Record<string, number>;
  /**
   * Writes the model as `format` into `dir`, an empty folder that exists; returns a note for the user
   * about the result (e.g. that no other library reads it), if any. Throws a DistilleryError for a
   * format it cannot write.
   */
  exportTo?(format: ExportFormat, dir: string): Promise<{ note?: string } | void>;
}

/** A model's ModelDetails members (those it has). */
export function modelDetails(model: Teacher): ModelDetails {
  return model as Teacher & ModelDetails;
}
