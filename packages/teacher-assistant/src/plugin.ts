import { defineStagePlugin } from '@distillery/core';
import { teacherAssistant } from './chain.js';
import { teacherAssistantOptions } from './options.js';

/**
 * The 'teacher-assistant' stage plugin: a pipeline entry `{ use: 'teacher-assistant', options }`
 * expands into the chain's stages (options as for teacherAssistant()).
 */
export const teacherAssistantPlugin = defineStagePlugin({
  name: 'teacher-assistant',
  options: teacherAssistantOptions,
  create: (options) => teacherAssistant(options),
});
