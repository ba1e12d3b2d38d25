import type * as tf from '@tensorflow/tfjs-core';
import { DistilleryError } from '../errors.js';

/** Where a tensor came from, for error messages: 'hinton: feature logits'. */
export interface TensorSite {
  /** The loss or component checking, e.g. 'hinton'. */
  who: string;
  /** The feature name, e.g. 'hidden'. */
  feature: string;
  /** The layer index within the feature, when it is a per-layer list (same on both sides). */
  layer?: number;
  /** The teacher's layer index, when it differs from the student's. */
  teacherLayer?: number;
  /** The student's layer index, when it differs from the teacher's. */
  studentLayer?: number;
}

const describe = (s: TensorSite) => {
  let where = s.layer === undefined ? '' : ` layer ${s.layer}`;
  if (s.teacherLayer !== undefined || s.studentLayer !== undefined) {
    where += ` (teacher layer ${s.teacherLayer ?? '-'}, student layer ${s.studentLayer ?? '-'})`;
  }
  return `${s.who}: feature '${s.feature}'${where}`;
};

/** Formats a shape as [a, b, c]. */
export const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** Fails unless teacher and student tensors have the same shape, naming both shapes. */
export function assertSameShape(teacher: tf.Tensor, student: tf.Tensor, site: TensorSite): void {
  const a = teacher.shape, b = student.shape;
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new DistilleryError(
      `${describe(site)}: teacher shape ${shapeText(a)} does not match student shape ${shapeText(b)}`, 'shape');
  }
}

/** Fails unless the tensor has the given rank, naming the tensor and its shape. */
export function assertRank(t: tf.Tensor, rank: number, site: TensorSite & { model: 'teacher' | 'student' | 'batch' }): void {
  if (t.rank !== rank) {
    throw new DistilleryError(
      `${describe(site)}: ${site.model} tensor has shape ${shapeText(t.shape)}, expected rank ${rank}`, 'shape');
  }
}

/** Returns the feature tensor a loss needs, failing clearly when the model output lacks it. */
export function requireFeature<T>(value: T | undefined, site: TensorSite & { model: 'teacher' | 'student' }): T {
  if (value === undefined) {
    throw new DistilleryError(`${describe(site)}: missing from the ${site.model} outputs`, 'feature');
  }
  return value;
}

/** Returns layer `index` of a per-layer feature, failing with the layer count when out of range. */
export function requireLayer(list: tf.Tensor[] | undefined, index: number,
  site: TensorSite & { model: 'teacher' | 'student' }): tf.Tensor {
  const layers = requireFeature(list, site);
  if (!Number.isInteger(index) || index < 0 || index >= layers.length) {
    throw new DistilleryError(
      `${describe({ ...site, layer: index })}: the ${site.model} has ${layers.length} ${layers.length === 1 ? 'entry' : 'entries'} for this feature`, 'shape');
  }
  return layers[index];
}
