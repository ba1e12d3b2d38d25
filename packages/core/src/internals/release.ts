import type { Logger } from '../logger.js';

/**
 * Runs every release step (dispose, close) even when one throws, so that nothing is left allocated
 * because an earlier step failed. After a failure (`failed`: the work these steps clean up after
 * threw), a release error is only logged, so that the error reported is the first one; after
 * success, the first release error is thrown once every step has run.
 */
export function releaseAll(steps: ReadonlyArray<() => void>, options: { logger: Logger; where: string; failed: boolean }): void {
  let first: unknown;
  let thrown = false;
  for (const step of steps) {
    try {
      step();
    } catch (error) {
      if (options.failed) {
        const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        options.logger.warn(`${options.where}: freeing memory after a failure failed too (${text}); the first failure is the error reported`);
      } else if (!thrown) {
        first = error;
        thrown = true;
      }
    }
  }
  if (thrown) throw first;
}
