import type { ResolvedStage } from '../stage.js';
import type { BatchSource, Teacher } from '../types.js';
import { stageError } from './losses.js';
import type { StageSetup } from './setup.js';

/** The teacher and source the training steps read. */
export interface TrainingTeacher {
  /** The live teacher, or what the stage's teacherCache served. */
  teacher?: Teacher;
  /** data.train, or the source served with the cached teacher. */
  train: BatchSource;
}

/**
 * Asks the stage's `teacherCache` hook (when it has one, a teacher, and losses that read the
 * teacher) for the teacher and source of the training steps, and checks what it returns against
 * the stage: the same number of examples, and every feature the losses read.
 */
export async function trainingTeacher(stage: ResolvedStage, setup: StageSetup): Promise<TrainingTeacher> {
  const { config, teacher } = stage;
  const live: TrainingTeacher = { teacher, train: setup.train };
  const hook = config.teacherCache;
  if (typeof hook !== 'function' || !teacher || setup.teacherFeatures.size === 0) return live;
  const served = await hook({ stage: config.name, teacher, train: setup.train, features: setup.teacherFeatures });
  if (served === undefined) return live;
  const fail = (message: string, code: 'config' | 'feature' = 'config') => stageError(config.name, `teacherCache: ${message}`, code);
  if (typeof served?.teacher?.forward !== 'function' || typeof served.train?.batch !== 'function') {
    throw fail(`expected { teacher, train } (a teacher and a batch source) or undefined, got ${JSON.stringify(served)}`);
  }
  if (served.train.size !== setup.train.size) {
    throw fail(`the served source has ${served.train.size} examples but data.train has ${setup.train.size}`);
  }
  const missing = [...setup.teacherFeatures].filter((f) => !served.teacher.emits?.has(f));
  if (missing.length) {
    throw fail(`the served teacher ${served.teacher.name} does not emit '${missing.join("', '")}', which the losses read`, 'feature');
  }
  return served;
}
