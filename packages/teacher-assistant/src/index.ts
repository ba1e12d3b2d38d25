export { teacherAssistant } from './chain.js';
export { assistantShapeSchema, teacherAssistantOptions } from './options.js';
export type { ChainStageFields, TeacherAssistantChain, TeacherAssistantOptions } from './chain.js';
export { describeEnd, shapeOf } from './ends.js';
export type { ChainEnd, ModelLike, ModelPlugin } from './ends.js';
export { teacherAssistantPlugin } from './plugin.js';
export { planAssistants } from './rule.js';
export type { AssistantChoice, AssistantPlan } from './rule.js';
export type { AssistantShape, ModelShape, ResolvedAssistantShape } from './shapes.js';
