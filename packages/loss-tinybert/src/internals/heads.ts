import * as tf from '@tensorflow/tfjs-core';
import { DistilleryError } from '@distillery/core';

/** How the teacher's attention heads meet the student's: one to one, averaged in equal groups, or an explicit map. */
export type TeacherHeads = 'equal' | 'average' | readonly (readonly number[])[];

/**
 * What the loss does with the teacher's scores before comparing: nothing (heads one to one), a mean over
 * `size` consecutive heads, or per student head the mean of the listed teacher heads.
 */
export type HeadPlan =
  | { kind: 'one-to-one' }
  | { kind: 'average'; size: number; groups: number[][] }
  | { kind: 'map'; groups: number[][] };

const KEY = 'teacherHeads';

/**
 * The plan for the `teacherHeads` option (already through the options schema: a choice, or non-empty
 * lists of distinct indices) given both models' head counts (A_t teacher, A_s student). 'equal' keeps
 * the paper's rule (counts must match); 'average' needs A_t to be a multiple of A_s; a map needs one
 * list per student head, of teacher heads in 0..A_t−1.
 */
export function teacherHeadsPlan(who: string, value: TeacherHeads, teacherHeads: number, studentHeads: number): HeadPlan {
  const counts = `teacher ${teacherHeads} heads, student ${studentHeads} heads`;
  const bad = (why: string) => new DistilleryError(`${who}: option '${KEY}' ${why}`, 'config');
  if (!Array.isArray(value)) {
    // Equal counts compare one to one whatever the choice, so 'average' there is exactly 'equal'.
    if (teacherHeads === studentHeads) return { kind: 'one-to-one' };
    if (value === 'equal') {
      // The paper's setting, and the error this loss gave before the option existed.
      throw new DistilleryError(`${who}: feature 'attentionScores': head counts differ (teacher ${teacherHeads}, ` +
        `student ${studentHeads}); TinyBERT's attention loss compares the heads one to one`, 'config');
    }
    if (!(studentHeads > 0 && teacherHeads > 0 && teacherHeads % studentHeads === 0)) {
      throw bad(`'average' splits the teacher's heads into equal consecutive groups, one per student head, so the ` +
        `teacher's head count must be a multiple of the student's: ${counts}`);
    }
    const size = teacherHeads / studentHeads;
    const groups = Array.from({ length: studentHeads }, (_, i) => Array.from({ length: size }, (__, j) => i * size + j));
    return { kind: 'average', size, groups };
  }
  if (value.length !== studentHeads) {
    throw bad(`lists ${value.length} group${value.length === 1 ? '' : 's'} of teacher heads, but the student has ` +
      `${studentHeads} heads (one group per student head; ${counts})`);
  }
  const groups = value.map((group: readonly number[], i: number) => {
    const out = group.find((h) => h >= teacherHeads);
    if (out !== undefined) {
      throw bad(`entry ${KEY}[${i}] = ${JSON.stringify(group)}: teacher head ${out} is out of range ` +
        `(${counts}; teacher heads are 0..${teacherHeads - 1})`);
    }
    return [...group];
  });
  return { kind: 'map', groups };
}

/**
 * The teacher's [B, A_t, S, S] scores as [B, A_s, S, S]: student head i gets the mean of its group's teacher
 * scores (taken before r; every head carries the same additive key mask, so the mean keeps it). Equal
 * consecutive groups use one reshape + mean, the same ops as averaging by hand.
 */
export function teacherScoresForStudent(scores: tf.Tensor, plan: HeadPlan): tf.Tensor {
  if (plan.kind === 'one-to-one') return scores;
  const [B, A, S, K] = scores.shape;
  if (plan.kind === 'average') return tf.mean(tf.reshape(scores, [B, A / plan.size, plan.size, S, K]), 2);
  return tf.concat(plan.groups.map((g) => tf.mean(tf.gather(scores, g, 1), 1, true)), 1);
}

/** The plan for the log: 'student 0 ← teacher 0, 1; student 1 ← teacher 2, 3'; undefined when one to one. */
export function planText(plan: HeadPlan): string | undefined {
  if (plan.kind === 'one-to-one') return undefined;
  return plan.groups.map((g, i) => `student ${i} ← teacher ${g.join(', ')}`).join('; ');
}
