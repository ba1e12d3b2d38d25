import { DistilleryError } from '@distillery/core';
import {
  positiveInt, SHAPE_KEYS, shapeText, type AssistantShape, type ModelShape, type ResolvedAssistantShape,
} from './shapes.js';

/** How to pick the assistants: MiniLM's rule, none, or an explicit list (teacher side first). */
export type AssistantChoice = 'auto' | 'none' | readonly AssistantShape[];

/** What the chain decided, and why. */
export interface AssistantPlan {
  /** The assistants between teacher and student, teacher side first; empty for a single stage. */
  assistants: ResolvedAssistantShape[];
  /** 'auto' when MiniLM's rule decided, 'explicit' for a given list, 'none' when asked for none. */
  mode: 'auto' | 'explicit' | 'none';
  /** One sentence saying what was chosen and why. */
  description: string;
}

/**
 * Decides the assistants of a teacher → assistant(s) → student chain.
 *
 * - `'auto'` applies MiniLM's rule (Wang et al. 2020, §4.2): when the student has M ≤ N/2 layers
 *   and width H_s ≤ H_t/2, one assistant keeps the teacher's depth N with the student's width H_s
 *   (and the student's heads and feed-forward width), so each stage shrinks one dimension; otherwise
 *   the gap is small enough to distil directly and no assistant is used.
 * - an explicit list builds a longer chain (TAKD, Mirzadeh et al. 2020); missing heads are the
 *   teacher's when they divide the width, else the student's; a missing feed-forward width is the
 *   student's or teacher's when the width equals theirs, else the teacher's ratio times the width.
 * - `'none'` builds the single teacher → student stage.
 */
export function planAssistants(teacher: ModelShape, student: ModelShape, choice: AssistantChoice = 'auto'): AssistantPlan {
  const t = `teacher ${shapeText(teacher)}`;
  const s = `student ${shapeText(student)}`;
  if (choice === 'none') {
    return { assistants: [], mode: 'none', description: `no assistant (assistant: 'none'): ${t} → ${s}` };
  }
  if (choice === 'auto') {
    const { numLayers: N, hiddenSize: Ht } = teacher;
    const { numLayers: M, hiddenSize: Hs } = student;
    // Integer comparisons: M ≤ N/2 ⇔ 2M ≤ N, without rounding an odd N.
    const shallow = 2 * M <= N;
    const narrow = 2 * Hs <= Ht;
    const facts = `M=${M} ${shallow ? '≤' : '>'} N/2=${N / 2}, H_s=${Hs} ${narrow ? '≤' : '>'} H_t/2=${Ht / 2}`;
    if (!shallow || !narrow) {
      return {
        assistants: [], mode: 'auto',
        description: `no assistant (auto, MiniLM rule: needs M ≤ N/2 and H_s ≤ H_t/2; ${facts}): ${t} → ${s}`,
      };
    }
    const assistant = complete({ numLayers: N, hiddenSize: Hs }, teacher, student, 'the auto assistant');
    return {
      assistants: [assistant], mode: 'auto',
      description: `one assistant ${shapeText(assistant)} with the teacher's depth and the ` +
        `student's width (auto, MiniLM rule: ${facts}): ${t} → assistant ${shapeText(assistant)} → ${s}`,
    };
  }
  if (!Array.isArray(choice)) {
    throw new DistilleryError(
      `teacher-assistant: option 'assistant' must be 'auto', 'none' or a list of shapes, got ${JSON.stringify(choice)}`, 'config');
  }
  const assistants = choice.map((shape, i) => complete(shape, teacher, student, `assistant[${i}]`));
  const chain = [t, ...assistants.map((a) => `assistant ${shapeText(a)}`), s].join(' → ');
  return {
    assistants, mode: 'explicit',
    description: assistants.length === 0 ? `no assistant (an empty list): ${chain}`
      : `${assistants.length} assistant${assistants.length > 1 ? 's' : ''} (explicit): ${chain}`,
  };
}

/** Fills in heads and feed-forward width, and checks every size. */
function complete(shape: AssistantShape, teacher: ModelShape, student: ModelShape, who: string): ResolvedAssistantShape {
  if (typeof shape !== 'object' || shape === null) {
    throw new DistilleryError(`teacher-assistant: ${who} must be an object with numLayers and hiddenSize, ` +
      `got ${JSON.stringify(shape)}`, 'config');
  }
  const unknown = Object.keys(shape).filter((k) => !(SHAPE_KEYS as readonly string[]).includes(k));
  if (unknown.length) {
    throw new DistilleryError(`teacher-assistant: ${who}: unknown key '${unknown[0]}'; known keys: ${SHAPE_KEYS.join(', ')}`, 'config');
  }
  const layers = positiveInt(shape.numLayers, `teacher-assistant: ${who}.numLayers`);
  const hidden = positiveInt(shape.hiddenSize, `teacher-assistant: ${who}.hiddenSize`);
  const divides = (h: number | undefined) => h !== undefined && h > 0 && hidden % h === 0;
  let heads = shape.numHeads;
  if (heads === undefined) {
    // MiniLM's assistant has the student's width, so the student's heads fit it best.
    const preferred = hidden === student.hiddenSize ? [student.numHeads, teacher.numHeads] : [teacher.numHeads, student.numHeads];
    heads = preferred.find(divides);
    if (heads === undefined) {
      throw new DistilleryError(
        `teacher-assistant: ${who}: hiddenSize ${hidden} is divisible by neither the teacher's heads ` +
        `(${teacher.numHeads || 'unknown'}) nor the student's (${student.numHeads || 'unknown'}); give numHeads`, 'config');
    }
  }
  positiveInt(heads, `teacher-assistant: ${who}.numHeads`);
  if (hidden % heads !== 0) {
    throw new DistilleryError(
      `teacher-assistant: ${who}: hiddenSize ${hidden} is not a multiple of numHeads ${heads}`, 'config');
  }
  let intermediate = shape.intermediateSize;
  if (intermediate === undefined) {
    if (hidden === student.hiddenSize && student.intermediateSize) intermediate = student.intermediateSize;
    else if (hidden === teacher.hiddenSize && teacher.intermediateSize) intermediate = teacher.intermediateSize;
    else {
      const ratio = teacher.intermediateSize ? teacher.intermediateSize / teacher.hiddenSize : 4;
      intermediate = Math.max(1, Math.round(ratio * hidden));
    }
  }
  positiveInt(intermediate, `teacher-assistant: ${who}.intermediateSize`);
  return { numLayers: layers, hiddenSize: hidden, numHeads: heads, intermediateSize: intermediate };
}
