import { defineStagePlugin } from '@distillery/core';
import { TEACHER_ASSISTANT_OPTION_KEYS, teacherAssistant, type TeacherAssistantOptions } from './chain.js';

/**
 * The 'teacher-assistant' stage plugin: a pipeline entry `{ use: 'teacher-assistant', options }`
 * expands into the chain's stages (options as for teacherAssistant()).
 */
export const teacherAssistantPlugin = defineStagePlugin<TeacherAssistantOptions>({
  name: 'teacher-assistant',
  optionKeys: TEACHER_ASSISTANT_OPTION_KEYS,
  create: (options) => teacherAssistant(options),
});
