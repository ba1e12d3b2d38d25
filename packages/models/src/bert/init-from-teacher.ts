import * as tf from '@tensorflow/tfjs-core';
import { DistilleryError } from '@distillery/core';
import { shapeText } from '@distillery/core/kit';
import type { Teacher } from '@distillery/core';
import { BertModel } from './bert-model.js';
import { checkBertConfigKeys } from './config.js';
import type { BertConfigInput, BertHead } from './config.js';

/** Which teacher layers a student copies, and how it otherwise differs. */
export interface InitFromTeacherOptions {
  /** 0-based teacher encoder layers to copy, in student order; their count is the student's depth. */
  layers: readonly number[];
  /** Student config keys that differ from the teacher's (e.g. dropout); hidden_size must stay the same. */
  config?: BertConfigInput;
  /** @default the teacher's heads */
  heads?: readonly BertHead[];
  /** Seeds whatever is not copied (a head the teacher lacks or whose shape differs). @default 42 */
  seed?: number;
}

const LAYER = /^bert\.encoder\.layer\.(\d+)\.(.*)$/;

/**
 * A student initialised as DistilBERT is (Sanh et al., 2019): a copy of the teacher's embeddings
 * and of the chosen encoder layers (DistilBERT took [0, 2, 4, 7, 9, 11] of 12), plus the teacher's heads
 * where their shapes fit the student's config (else they are initialised afresh). The teacher may
 * be a BertModel or its asTeacher() view; hidden sizes must match.
 */
export function initFromTeacher(teacher: BertModel | Teacher, options: InitFromTeacherOptions): BertModel {
  const source = BertModel.unwrap(teacher);
  if (!source) {
    throw new DistilleryError(
      `initFromTeacher: the teacher ${(teacher as Teacher)?.name ?? String(teacher)} is not a BERT model ` +
      `(it needs a BertModel or its asTeacher() view)`, 'config');
  }
  const { layers, config: overrides = {}, heads = source.heads, seed = 42 } = options ?? ({} as InitFromTeacherOptions);
  const depth = source.config.num_hidden_layers;
  if (!Array.isArray(layers) || layers.length === 0) {
    throw new DistilleryError(
      `initFromTeacher: option 'layers' must be a non-empty list of teacher layer indices, got ${JSON.stringify(layers)}`,
      'config');
  }
  for (const index of layers) {
    if (!Number.isInteger(index) || index < 0 || index >= depth) {
      throw new DistilleryError(
        `initFromTeacher: layer index ${JSON.stringify(index)} is out of range: teacher ${source.name} has ${depth} ` +
        `layers (0..${depth - 1})`, 'config');
    }
  }
  checkBertConfigKeys(overrides, 'initFromTeacher: options.config');
  if (overrides.num_hidden_layers !== undefined && overrides.num_hidden_layers !== layers.length) {
    throw new DistilleryError(
      `initFromTeacher: config 'num_hidden_layers' ${overrides.num_hidden_layers} disagrees with the ${layers.length} ` +
      `layers chosen`, 'config');
  }
  const teacherHidden = source.config.hidden_size;
  if (overrides.hidden_size !== undefined && overrides.hidden_size !== teacherHidden) {
    throw new DistilleryError(
      `initFromTeacher: student hidden_size ${overrides.hidden_size} differs from teacher ${source.name}'s hidden_size ` +
      `${teacherHidden}; copying weights needs equal hidden sizes (use a projection-based loss such as TinyBERT's instead)`,
      'config');
  }
  // A new label count replaces the teacher's label names.
  const base = { ...source.config, ...(overrides.num_labels !== undefined && !overrides.id2label ? { id2label: undefined } : {}) };
  const student = new BertModel({ ...base, ...overrides, num_hidden_layers: layers.length }, { heads, seed, initialize: false });
  const fresh: string[] = [];
  try {
    tf.tidy(() => {
      for (const [name, target] of student.weights) {
        const match = LAYER.exec(name);
        const from = match ? `bert.encoder.layer.${layers[Number(match[1])]}.${match[2]}` : name;
        const value = source.weights.get(from);
        if (!value) { fresh.push(name); continue; }  // a head the teacher does not have
        if (value.shape.length !== target.shape.length || value.shape.some((d, i) => d !== target.shape[i])) {
          if (name.startsWith('bert.embeddings.') || match) {
            throw new DistilleryError(
              `initFromTeacher: teacher tensor '${from}' has shape ${shapeText(value.shape)} but the student's ` +
              `'${name}' has ${shapeText(target.shape)}`, 'shape');
          }
          fresh.push(name);  // a head whose shape differs (e.g. num_labels) starts afresh
          continue;
        }
        target.assign(tf.clone(value));
      }
    });
    student.resetWeights(fresh);
  } catch (error) {
    student.dispose();
    throw error;
  }
  return student;
}
