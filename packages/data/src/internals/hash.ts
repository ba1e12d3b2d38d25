import { createHash } from 'node:crypto';

/** Hex SHA-256 of a string (UTF-8) or bytes. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** An incremental SHA-256 over strings and typed arrays (their bytes, little-endian). */
export class Hasher {
  private readonly hash = createHash('sha256');

  /** Adds a string (with its length, so 'ab','c' and 'a','bc' differ) or a typed array's bytes. */
  update(data: string | ArrayBufferView): this {
    if (typeof data === 'string') {
      this.hash.update(`${data.length}:`).update(data);
    } else {
      this.hash.update(`${data.byteLength}:`).update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
    return this;
  }

  /** The hex digest; the hasher cannot be used afterwards. */
  digest(): string {
    return this.hash.digest('hex');
  }
}
