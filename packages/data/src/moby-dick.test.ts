import { describe, expect, it } from 'vitest';
import { mobyDick } from './moby-dick.js';

describe('mobyDick', () => {
  it('gives the paragraphs of chapters 1-135 and the Epilogue, in book order, without headings', () => {
    const paragraphs = mobyDick();
    expect(paragraphs).toHaveLength(2382);
    expect(paragraphs[0].text.startsWith('Call me Ishmael. Some years ago—never mind how long precisely')).toBe(true);
    expect(paragraphs.at(-1)!.text.endsWith('only found another orphan.')).toBe(true);
    expect(paragraphs.some((p) => p.text.startsWith('The drama\'s done.'))).toBe(true);
    expect(paragraphs.every((p) => p.label === undefined && p.text.length >= 20 && !p.text.includes('\n'))).toBe(true);
    expect(paragraphs.some((p) => /^(CONTENTS|ETYMOLOGY|EXTRACTS|Epilogue)\b/.test(p.text))).toBe(false);
  });

  it('splits sentences, keeping abbreviations such as Mr. inside', () => {
    const sentences = mobyDick({ unit: 'sentence' });
    expect(sentences.length).toBeGreaterThan(7000);
    expect(sentences[0].text).toBe('Some years ago—never mind how long precisely—having little or no money in my purse, ' +
      'and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world.');
    expect(sentences.some((s) => /\bMr\.$/.test(s.text))).toBe(false);
    expect(mobyDick({ unit: 'sentence', minLength: 0 })[0].text).toBe('Call me Ishmael.');
  });

  it('adds the front matter on request and validates options', () => {
    expect(mobyDick({ frontMatter: true }).length).toBeGreaterThan(2382);
    expect(() => mobyDick({ unit: 'word' as never })).toThrow(/unit must be 'paragraph' or 'sentence'/);
  });
});
