export { teacherAssistant } from './chain.js';
export { assistantShapeSchema, teacherAssistantOptions } from './options.js';
export type { ChainStageFields, TeacherAssistantChain, TeacherAssistantOptions } from './chain.js';
export { teacherAssistantPlugin } from './plugin.js';
export { planAssistants } from './rule.js';
export type { AssistantChoice, AssistantPlan } from './rule.js';
export { readFacts, shapeOfConfig } from './shapes.js';
export type { AssistantShape, BertConfigLike, ModelFacts, ModelShape, ResolvedAssistantShape } from './shapes.js';
