import * as tf from '@tensorflow/tfjs-core';
import type { Callback, StepEvent } from '../callbacks.js';

/** What stepRecorder() returns: the events, the live tensor counts and the callback that fills them. */
export interface StepRecorder {
  /** Every step's event, in order. */
  readonly steps: StepEvent[];
  /** tf.memory().numTensors after each step, in order. */
  readonly counts: number[];
  /** The recorded steps of one stage. */
  of(stage: string): StepEvent[];
  /** Pass it in a stage's `callbacks`. */
  readonly callback: Callback;
}

/** Records every step's event and the live tensor count after it (pass `callback` to the stage). */
export function stepRecorder(): StepRecorder {
  const steps: StepEvent[] = [];
  const counts: number[] = [];
  const of = (stage: string) => steps.filter((s) => s.stage === stage);
  return { steps, counts, of, callback: { onStep: (e: StepEvent) => { steps.push(e); counts.push(tf.memory().numTensors); } } };
}

/** The arithmetic mean of a list of numbers. */
export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
