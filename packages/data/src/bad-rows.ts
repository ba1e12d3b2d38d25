import { DistilleryError, type Logger } from '@distillery/core';

/** What to do with a row that cannot be read: skip it (counted and reported) or stop. */
export type BadRowPolicy = 'skip' | 'fail';

/** One unreadable row: where it is and why. */
export interface BadRow {
  /** The file (or source name). */
  file: string;
  /** 1-based line where the row starts. */
  line: number;
  /** The column: its header name or 1-based position, when the problem is in one field. */
  column?: string;
  reason: string;
}

/** What reading a file did: nothing is dropped without being counted here. */
export interface ReadReport {
  file: string;
  /** Data rows met (header and blank lines excluded). */
  rows: number;
  /** Rows turned into examples. */
  kept: number;
  /** Rows skipped as bad (`onBadRow: 'skip'`). */
  skipped: number;
  /** Blank lines passed over (not rows). */
  blankLines: number;
  /** The first bad rows (at most `maxReported`). */
  badRows: BadRow[];
}

/** A bad row met with `onBadRow: 'fail'`; the message gives file, line and column. */
export class BadRowError extends DistilleryError {
  constructor(readonly row: BadRow, readonly report: ReadReport) {
    super(formatBadRow(row), 'config');
    this.name = 'BadRowError';
  }
}

/** `file:line: column 'x': reason`. */
export function formatBadRow({ file, line, column, reason }: BadRow): string {
  return `${file}:${line}: ${column === undefined ? '' : `column ${column}: `}${reason}`;
}

/** Counts rows and bad rows of one file and applies the policy. */
export class RowTracker {
  readonly report: ReadReport;

  constructor(
    file: string,
    private readonly policy: BadRowPolicy = 'fail',
    private readonly maxReported = 10,
  ) {
    if (policy !== 'skip' && policy !== 'fail') {
      throw new DistilleryError(`onBadRow must be 'skip' or 'fail', got ${JSON.stringify(policy)}`, 'config');
    }
    this.report = { file, rows: 0, kept: 0, skipped: 0, blankLines: 0, badRows: [] };
  }

  /** Records a bad row: throws under 'fail', counts it under 'skip'. */
  bad(line: number, reason: string, column?: string): void {
    const row: BadRow = { file: this.report.file, line, reason, ...(column === undefined ? {} : { column }) };
    if (this.policy === 'fail') throw new BadRowError(row, this.report);
    this.report.skipped++;
    if (this.report.badRows.length < this.maxReported) this.report.badRows.push(row);
  }

  /** Logs a warning when rows were skipped (called once the file is read). */
  finish(logger: Logger): ReadReport {
    const { skipped, rows, badRows, file } = this.report;
    if (skipped > 0) {
      const more = skipped > badRows.length ? ` (and ${skipped - badRows.length} more)` : '';
      logger.warn(`${file}: skipped ${skipped} bad row${skipped === 1 ? '' : 's'} of ${rows}: ` +
        `${badRows.map(formatBadRow).join('; ')}${more}`);
    }
    return this.report;
  }
}
