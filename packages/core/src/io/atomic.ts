import { promises as fs } from 'node:fs';
import path from 'node:path';

/** Writes a file atomically: a temporary file in the same folder, fsync, then rename over the target. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const handle = await fs.open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
}

/**
 * Fills a fresh folder through `fill`, then moves it to `dir` in one rename. A folder already at
 * `dir` is replaced only after the new one is complete; if anything fails, `dir` is untouched.
 */
export async function writeDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  const parent = path.dirname(dir);
  await fs.mkdir(parent, { recursive: true });
  const tmp = await fs.mkdtemp(path.join(parent, `.${path.basename(dir)}.tmp-`));
  try {
    await fill(tmp);
  } catch (error) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw error;
  }
  const old = `${dir}.old-${process.pid}-${Date.now()}`;
  let moved = false;
  try {
    await fs.rename(dir, old);
    moved = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await fs.rename(tmp, dir);
  if (moved) await fs.rm(old, { recursive: true, force: true });
  // The new folder is complete: leftovers of earlier crashed writes are no longer needed.
  const base = path.basename(dir);
  for (const name of await fs.readdir(parent)) {
    if (name.startsWith(`${base}.old-`) || name.startsWith(`.${base}.tmp-`)) {
      await fs.rm(path.join(parent, name), { recursive: true, force: true });
    }
  }
}
