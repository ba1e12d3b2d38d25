import type { OutputStream } from './progress.js';
import type { PipelineLoader } from './pipeline-types.js';

/** Everything a command touches outside itself; bin.ts passes the process's, tests their own. */
export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  /** Subscribes to interrupt requests (Ctrl-C); returns the function that unsubscribes. */
  onInterrupt(handler: () => void): () => void;
  /** Ends the process at once (a second Ctrl-C). */
  exit(code: number): void;
  /** Reads a pipeline file. */
  loadPipeline: PipelineLoader;
}
