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
  // The chain sizes its ends and builds assistants through the Distillery's registered model plugins.
  create: (options, env) => teacherAssistant({
    plugins: [...env.plugins('teacher'), ...env.plugins('student')], logger: env.logger, ...options,
  }),
});
