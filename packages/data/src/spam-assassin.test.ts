import { beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from './internals/hash.js';
import { describeKeptLabels } from './partial-labels.js';
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

  it('redacts the corpus spelling zzzzason.org (four z\'s) and the three-z one', () => {
    expect(cleanEmail('A: b\n\nDear zzzzason.org,\nTo: fma@zzzzason.org or jm@zzzason.org')).toBe('Dear example.com,\nTo: user@example.com or user@example.com');
  });

  it('drops the X-MIME-Autoconverted lines a relay wrote into MIME parts, with their folded lines', () => {
    const raw = [
      'From: x', '', '--part', 'Content-Type: text/plain',
      'X-MIME-Autoconverted: from 8bit to quoted-printable by hq.pro-ns.net id g6PDXti4039145', '',
      'Buy now', '--part', 'X-MIME-Autoconverted: from 8bit to base64 by', '\thq.pro-ns.net id g6MG9khX090283', 'PGh0bWw+',
    ].join('\n');
    expect(cleanEmail(raw)).toBe(['--part', 'Content-Type: text/plain', '', 'Buy now', '--part', 'PGh0bWw+'].join('\n'));
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
    expect(data.report).toEqual({ messages: 6046, duplicates: 195, nearDuplicates: 74, conflicting: 0, empty: 0 });
    expect(data.counts).toEqual({
      train: { ham: 3267, spam: 1356 },
      validation: { ham: 408, spam: 169 },
      test: { ham: 408, spam: 169 },
    });
    expect(data.labels.names).toEqual(['ham', 'spam']);
    expect(ms).toBeLessThan(20_000);
  });

  it('gives the same split in every run and on every machine (recorded digests)', () => {
    expect(digest(data.train)).toBe('022004b26f6823c3ad5232063fad16a25a7adfd02b9eb3ccb5a4b6fd5f4fc6a1');
    expect(digest(data.validation)).toBe('456b909a8c833dd71f120712585ff516ed737de0965f73e9d7729c72628721f5');
    expect(digest(data.test)).toBe('26b508e3b558c623f97d4ea173c8c650b23158e3f2bff93308877624a88e7b30');
  });

  it('has no text in two splits (by content hash), nor twice in one', () => {
    const hashes = [data.train, data.validation, data.test].map((l) => l.map((e) => sha256(e.text)));
    const union = new Set(hashes.flat());
    expect(union.size).toBe(hashes.flat().length);
  });

  it('has no near-duplicates: no text equal to another once case, whitespace, digits and hex ids are collapsed', () => {
    // Written out here rather than imported, so that the test checks the split, not the function that made it.
    const normalize = (text: string) => text.toLowerCase()
      .replace(/\b(?=[0-9a-f]*\d)[0-9a-f]{6,}\b/g, '#').replace(/\d+/g, '0').replace(/\s+/g, ' ').trim();
    const splitOf = new Map<string, string>();
    const crossing: string[] = [];
    for (const [name, list] of Object.entries({ train: data.train, validation: data.validation, test: data.test })) {
      for (const e of list) {
        const key = sha256(normalize(e.text));
        const other = splitOf.get(key);
        if (other !== undefined) crossing.push(`${other}/${name}: ${e.text.slice(0, 80)}`);
        else splitOf.set(key, name);
      }
    }
    expect(crossing).toEqual([]);
  });

  it('leaves no spam-filter header line, SpamAssassin report line or collection artifact in any text', () => {
    const leaks = [
      /^[\s>]*X-Spam[\w-]*:/im, /^[\s>]*X-Spam-Status:/im, /^[\s>]*SPAM:/m, /^[\s>]*X-[\w-]*(?:spam|virus)[\w-]*:/im,
      /^[\s>]*X-MailScanner/im, /Spamassassin-Sightings@lists/i, /DeathToSpam/,
      /taint\.org|netnoteinc\.com|jmason\.org|z{3,}ason\.org/i, /^[\s>]*X-MIME-Autoconverted:/im,
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
    expect(spamAssassinUnlabelled({ split: 'all' })).toHaveLength(5777);
  });

  it('keepLabels hides all but a stratified subset of the train labels; validation and test keep theirs', () => {
    const partly = spamAssassin({ keepLabels: { fraction: 0.05, seed: 1 } });
    // 4,623 train rows (3,267 ham, 1,356 spam): round(0.05 · 4,623) = 231 → quotas 163.35 / 67.8 → 163 + 67 = 230,
    // the last to the larger remainder (0.8, spam): 163 / 68.
    expect(partly.keptLabels).toMatchObject({ rows: 4623, labelled: 4623, kept: 231,
      classes: [{ label: 0, kept: 163, labelled: 3267 }, { label: 1, kept: 68, labelled: 1356 }] });
    expect(partly.train.filter((e) => e.label === -100)).toHaveLength(4623 - 231);
    expect(describeKeptLabels(partly.keptLabels!, partly.labels.names))
      .toBe('231 of 4,623 rows keep their label (5 %, seed 1, stratified; ham 163 of 3,267, spam 68 of 1,356)');
    expect(partly.train.map((e) => e.text)).toEqual(data.train.map((e) => e.text));
    expect(partly.validation).toEqual(data.validation);
    expect(partly.counts).toEqual(data.counts);
    expect(data.keptLabels).toBeUndefined();
  });

  it('changes with its options: another seed, no stratification', () => {
    const other = spamAssassin({ seed: 1 });
    expect(other.counts).toEqual(data.counts);
    expect(digest(other.test)).not.toBe(digest(data.test));
    const plain = spamAssassin({ stratify: false });
    expect(plain.counts.test.ham + plain.counts.test.spam).toBe(578);
  });
});
