// Writes a results run's files: RESULTS.md, results.html (beside it) and results.json (the run folder).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '@distillery/core/kit';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import type { ResultsData } from './types.js';

/** Where the results go. */
export interface ResultsFiles {
  markdown: string;
  /** @default results.html beside the markdown */
  html?: string;
  /** The raw numbers. @default none */
  json?: string;
  /** The README RESULTS.md links to. @default README.md beside the markdown */
  readme?: string;
}

/** Writes RESULTS.md, results.html and results.json; returns the paths written. */
export async function writeResults(data: ResultsData, files: ResultsFiles): Promise<Required<ResultsFiles>> {
  const dir = path.dirname(files.markdown);
  const html = files.html ?? path.join(dir, 'results.html');
  const readme = files.readme ?? path.join(dir, 'README.md');
  await fs.mkdir(dir, { recursive: true });
  await writeFileAtomic(files.markdown, renderMarkdown(data, { html: path.relative(dir, html), readme: path.relative(dir, readme) }));
  await writeFileAtomic(html, renderHtml(data));
  if (files.json) await writeFileAtomic(files.json, `${JSON.stringify(data, null, 2)}\n`);
  return { markdown: files.markdown, html, json: files.json ?? '', readme };
}
