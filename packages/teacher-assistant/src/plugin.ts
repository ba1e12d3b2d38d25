import { defineStagePlugin } from '@distillery/core';
import { TEACHER_ASSISTANT_OPTION_KEYS, teacherAssistant, type TeacherAssistantOptions } from './chain.js';

/**
 * The 'teacher-assistant' stage plugin: a pipeline entry `{ use: 'teacher-assistant', options }`
 * expands into the chain's stages (options as for teacherAssistant()).
 */
export const teacherAssistantPlugin = defineStagePlugin<TeacherAssistantOptions>({
  name: 'teacher-assistant',
  optionKeys: TEACHER_ASSISTANT_OPTION_KEYS,
  // The chain sizes its ends and builds assistants through the Distillery's registered model plugins.
  create: (options, env) => teacherAssistant({
    plugins: [...env.plugins('teacher'), ...env.plugins('student')], logger: env.logger, ...options,
  }),
});
