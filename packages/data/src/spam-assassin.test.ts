import { beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from './internals/hash.js';
import { cleanEmail, spamAssassin, spamAssassinUnlabelled, type SpamAssassinDataset } from './spam-assassin.js';
import type { TextExample } from './types.js';

const RAW = [
  'From spammer@example.net  Tue Aug  6 11:05:28 2002',
  'Return-Path: <spammer@example.net>',
  'Received: from mail.example.net (mail.example.net [10.0.0.1])',
  '\tby phobos.labs.netnoteinc.com (Postfix) with ESMTP id 6F67D44147',
  'X-Spam-Status: Yes, hits=7.1 required=5.0',
  '\ttests=MAILTO_LINK,RAZOR_CHECK',
  'X-Spam-Flag: YES',
  'X-Spam-Level: *******',
  'X-Spam-Checker-Version: SpamAssassin 2.40',
  'List-Id: <ilug.linux.ie>',
  'Subject: *****SPAM***** Cheap',
  '  loans today',
  '',
  'Hello jm@netnoteinc.com, see http://listman.spamassassin.taint.org/x and',
  'SPAM: -------------------- Start SpamAssassin results ----------------------',
  'SPAM: This mail is probably spam.',
  'SPAM: -------------------- End of SpamAssassin results ---------------------',
  'Forwarded:',
  '> X-Spam-Status: Yes, hits=7.1 required=5.0',
  '>          tests=MAILTO_LINK,RAZOR_CHECK',
  '>          version=2.40',
  '> X-Spam-Report: Detailed Report',
  '>    SPAM: Content analysis details:   (7.1 hits, 5 required)',
  '> X-Virus-Scanned: by amavisd',
  '> Subject: a quoted ordinary header stays',
  '> and so does the quoted text',
  '--DeathToSpamDeathToSpamDeathToSpam--',
  '',
  '_______________________________________________',
  'Spamassassin-Sightings mailing list',
  'Spamassassin-Sightings@lists.sourceforge.net',
  'https://lists.sourceforge.net/lists/listinfo/spamassassin-sightings',
  '',
].join('\r\n');

describe('cleanEmail', () => {
  it('drops the header block, filter headers and SpamAssassin marks, and redacts the corpus domains', () => {
    expect(cleanEmail(RAW)).toBe([
      'Hello user@example.com, see http://example.com/x and',
      'Forwarded:',
      '> Subject: a quoted ordinary header stays',
      '> and so does the quoted text',
    ].join('\n'));
  });

  it('keeps the subject on request, unfolded and without spam tags', () => {
    expect(cleanEmail(RAW, { keepSubject: true }).split('\n')[0]).toBe('Subject: Cheap loans today');
    expect(cleanEmail('Subject: (SPAM? 08.00) list reminder\n\nbody', { keepSubject: true })).toBe('Subject: list reminder\n\nbody');
    expect(cleanEmail('Subject: only headers\nX-Spam: yes\n', { keepSubject: true })).toBe('Subject: only headers');
  });

  it('can leave addresses alone', () => {
    expect(cleanEmail('A: b\n\nwrite to zzzz@spamassassin.taint.org', { redactAddresses: false })).toBe('write to zzzz@spamassassin.taint.org');
    expect(cleanEmail('A: b\n\nwrite to zzzz@spamassassin.taint.org or yyyy@example.org')).toBe('write to user@example.com or yyyy@example.org');
  });
});

describe('spamAssassin (the whole corpus)', () => {
  let data: SpamAssassinDataset;
  let ms: number;
  beforeAll(() => {
    const started = Date.now();
    data = spamAssassin();
    ms = Date.now() - started;
  });

  const all = () => [...data.train, ...data.validation, ...data.test];
  const digest = (list: TextExample[]) => sha256(list.map((e) => `${e.label}\t${e.text}`).join('\u0000'));

  it('has the documented split: 80/10/10 stratified, seed 20020901, after dropping duplicates', () => {
    expect(data.report).toEqual({ messages: 6046, duplicates: 195, conflicting: 0, empty: 0 });
    expect(data.counts).toEqual({
      train: { ham: 3289, spam: 1392 },
      validation: { ham: 411, spam: 174 },
      test: { ham: 411, spam: 174 },
    });
    expect(data.labels.names).toEqual(['ham', 'spam']);
    expect(ms).toBeLessThan(20_000);
  });

  it('gives the same split in every run and on every machine (recorded digests)', () => {
    expect(digest(data.train)).toBe('51c577a23f79e6e09339333d722ace2b2edf36fffb78f15e1950144dc18ba7e5');
    expect(digest(data.validation)).toBe('2b359ce458eb8e1b22a8d09d8febb8b1e8b95b4d4423008d5185d8f167cafcd6');
    expect(digest(data.test)).toBe('d0a0cf04b7b38baa6d0988c09e0cd23327b09236c4c1873ef8b39b473ded9d9c');
  });

  it('has no text in two splits (by content hash), nor twice in one', () => {
    const hashes = [data.train, data.validation, data.test].map((l) => l.map((e) => sha256(e.text)));
    const union = new Set(hashes.flat());
    expect(union.size).toBe(hashes.flat().length);
  });

  it('leaves no spam-filter header line, SpamAssassin report line or collection artifact in any text', () => {
    const leaks = [
      /^[\s>]*X-Spam[\w-]*:/im, /^[\s>]*X-Spam-Status:/im, /^[\s>]*SPAM:/m, /^[\s>]*X-[\w-]*(?:spam|virus)[\w-]*:/im,
      /^[\s>]*X-MailScanner/im, /Spamassassin-Sightings@lists/i, /DeathToSpam/, /taint\.org|netnoteinc\.com|jmason\.org/i,
      // The mbox envelope line that opens every raw message (one spam body legitimately starts with a forwarded message's Return-Path).
      /^From \S+ +\w{3} \w{3}/,
    ];
    for (const e of all()) for (const leak of leaks) if (leak.test(e.text)) throw new Error(`${leak} survives in: ${e.text.slice(0, 300)}`);
    expect(all().every((e) => e.text.trim() === e.text && e.text.length > 0)).toBe(true);
  });

  it('offers the train texts without labels as a transfer set (all texts on request)', () => {
    const unlabelled = spamAssassinUnlabelled();
    expect(unlabelled).toHaveLength(data.train.length);
    expect(unlabelled.every((e) => e.label === undefined)).toBe(true);
    expect(unlabelled.map((e) => e.text)).toEqual(data.train.map((e) => e.text));
    expect(spamAssassinUnlabelled({ split: 'all' })).toHaveLength(5851);
  });

  it('changes with its options: another seed, no stratification', () => {
    const other = spamAssassin({ seed: 1 });
    expect(other.counts).toEqual(data.counts);
    expect(digest(other.test)).not.toBe(digest(data.test));
    const plain = spamAssassin({ stratify: false });
    expect(plain.counts.test.ham + plain.counts.test.spam).toBe(585);
  });
});
