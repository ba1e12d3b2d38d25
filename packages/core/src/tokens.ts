import type { InjectionToken } from 'tsyringe';
import type {
  CallbackPlugin, LossPlugin, MappingPlugin, StagePlugin, StudentPlugin, TeacherPlugin,
} from './plugins.js';
import type { Logger } from './logger.js';
import type { ResolvedStage } from './stage.js';

const token = <T>(name: string): InjectionToken<T> => Symbol.for(`@distillery/core:${name}`);

/** Loss plugins, registered many times in the root container. */
export const LossPlugins = token<LossPlugin<any>>('LossPlugins');
/** Layer-mapping plugins. */
export const MappingPlugins = token<MappingPlugin<any>>('MappingPlugins');
/** Teacher-model plugins. */
export const TeacherPlugins = token<TeacherPlugin<any>>('TeacherPlugins');
/** Student-model plugins. */
export const StudentPlugins = token<StudentPlugin<any>>('StudentPlugins');
/** Callback plugins. */
export const CallbackPlugins = token<CallbackPlugin<any>>('CallbackPlugins');
/** Stage plugins (expand into one or more stages). */
export const StagePlugins = token<StagePlugin<any>>('StagePlugins');
/** The logger every component writes to. */
export const LoggerToken = token<Logger>('Logger');
/** The stage being run; registered only in a stage's child container. */
export const StageToken = token<ResolvedStage>('Stage');
