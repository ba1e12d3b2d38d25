import type { EncodedLike, EncodeOptionsLike, TextEncoderLike } from './types.js';

/**
 * A tiny word-level encoder for tests: lower-cased whitespace words, [CLS] a [SEP] (b [SEP]),
 * longest-first truncation, ids 0-4 special ([PAD], [UNK], [CLS], [SEP], [MASK]).
 */
export class WordEncoder implements TextEncoderLike {
  readonly padId = 0;
  readonly unkId = 1;
  readonly clsId = 2;
  readonly sepId = 3;
  readonly maskId = 4;
  readonly specialIds: ReadonlySet<number> = new Set([0, 1, 2, 3, 4]);
  readonly vocabSize: number;
  /** Rows encoded so far, to check caching. */
  encodedRows = 0;
  private readonly ids = new Map<string, number>();

  constructor(words: readonly string[]) {
    for (const w of words) if (!this.ids.has(w)) this.ids.set(w, 5 + this.ids.size);
    this.vocabSize = 5 + this.ids.size;
  }

  /** A vocabulary of every word in the texts. */
  static fromTexts(texts: readonly string[]): WordEncoder {
    return new WordEncoder(texts.flatMap((t) => WordEncoder.words(t)));
  }

  static words(text: string): string[] {
    return text.toLowerCase().split(/\s+/).filter((w) => w !== '');
  }

  id(word: string): number {
    return this.ids.get(word) ?? this.unkId;
  }

  encodeBatch(inputs: readonly string[] | readonly (readonly [string, string])[], options: EncodeOptionsLike = {}): EncodedLike {
    const { maxLength, padding = 'longest', truncation = true } = options;
    const rows = inputs.map((input) => {
      const [a, b] = typeof input === 'string' ? [input, undefined] : input;
      let wa = WordEncoder.words(a).map((w) => this.id(w));
      let wb = b === undefined ? undefined : WordEncoder.words(b).map((w) => this.id(w));
      const special = wb ? 3 : 2;
      if (maxLength !== undefined && wa.length + (wb?.length ?? 0) + special > maxLength) {
        if (!truncation) throw new Error(`too long: ${a}`);
        while (wa.length + (wb?.length ?? 0) + special > maxLength) {
          if (wb && wb.length > wa.length) wb = wb.slice(0, -1); else wa = wa.slice(0, -1);
        }
      }
      const ids = [this.clsId, ...wa, this.sepId, ...(wb ? [...wb, this.sepId] : [])];
      const types = [...new Array(wa.length + 2).fill(0), ...(wb ? new Array(wb.length + 1).fill(1) : [])];
      return { ids, types };
    });
    this.encodedRows += rows.length;
    const width = padding === 'max_length' ? maxLength! : Math.max(0, ...rows.map((r) => r.ids.length));
    const pad = (row: number[], v: number) => (padding === false ? row : [...row, ...new Array(width - row.length).fill(v)]);
    return {
      inputIds: rows.map((r) => pad(r.ids, this.padId)),
      attentionMask: rows.map((r) => pad(new Array(r.ids.length).fill(1), 0)),
      tokenTypeIds: rows.map((r) => pad(r.types, 0)),
    };
  }
}
