import { randomBytes } from 'node:crypto';

/**
 * Token strings: `<prefix><lookup:16><secret:43><checksum:6>`, all base62 after the prefix (so a
 * double-click selects the whole token), e.g. `kw_` + 65 characters.
 *  - lookup: 16 random base62 characters (~95 bits), stored in clear and indexed: one lookup per verify.
 *  - secret: 32 random bytes (256 bits) in 43 base62 characters; only its argon2id hash is stored.
 *  - checksum: CRC-32 of everything before it, in 6 base62 characters (GitHub's scheme), so typos and
 *    look-alikes are rejected offline, before any database access.
 */
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE62_RE = /^[0-9A-Za-z]+$/;
export const LOOKUP_LEN = 16;
export const SECRET_LEN = 43;
export const CHECKSUM_LEN = 6;
export const BODY_LEN = LOOKUP_LEN + SECRET_LEN + CHECKSUM_LEN;
/** Anything longer than this is not a credential of ours or of a tokens file: rejected unread. */
export const MAX_PRESENTED_TOKEN_LENGTH = 512;

function toBase62(bytes: Buffer, width: number): string {
  let n = BigInt('0x' + (bytes.length ? bytes.toString('hex') : '0'));
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(width, '0');
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/** CRC-32 of the UTF-8 bytes of `text`; ASCII (every token) is read in place, without a Buffer. */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return crc32Bytes(Buffer.from(text, 'utf8'));
    crc = CRC_TABLE[(crc ^ c) & 0xff] ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function crc32Bytes(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The CRC in CHECKSUM_LEN base62 digits (62^6 > 2^32), in plain number arithmetic: checked on every request. */
export function checksum(text: string): string {
  let n = crc32(text);
  let out = '';
  for (let i = 0; i < CHECKSUM_LEN; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export interface GeneratedToken {
  token: string;
  lookupId: string;
  stub: string;
}

export interface ParsedToken {
  lookupId: string;
}

export class TokenCodec {
  constructor(readonly prefix: string) {}

  /** A fresh token; the lookup part may be forced (rotation keeps a token's identity). */
  generate(lookupId: string = toBase62(randomBytes(12), LOOKUP_LEN).slice(-LOOKUP_LEN)): GeneratedToken {
    const secret = toBase62(randomBytes(32), SECRET_LEN);
    const head = `${this.prefix}${lookupId}${secret}`;
    return { token: head + checksum(head), lookupId, stub: this.stub(lookupId) };
  }

  /** Non-secret display form: the prefix and the first 6 characters of the lookup part. */
  stub(lookupId: string): string {
    return `${this.prefix}${lookupId.slice(0, 6)}…`;
  }

  /** The last value parsed and its answer: the verifier and the access log read the same token. */
  private lastToken = '';
  private lastParsed: ParsedToken | null = null;

  /** Returns the lookup part when `token` is well-formed with a valid checksum, else null (no I/O). */
  parse(token: string): ParsedToken | null {
    if (token === this.lastToken) return this.lastParsed;
    const parsed = this.parseOnce(token);
    this.lastToken = token;
    this.lastParsed = parsed;
    return parsed;
  }

  private parseOnce(token: string): ParsedToken | null {
    if (token.length !== this.prefix.length + BODY_LEN || !token.startsWith(this.prefix)) return null;
    const body = token.slice(this.prefix.length);
    if (!BASE62_RE.test(body)) return null;
    const head = token.slice(0, token.length - CHECKSUM_LEN);
    if (checksum(head) !== token.slice(-CHECKSUM_LEN)) return null;
    return Object.freeze({ lookupId: body.slice(0, LOOKUP_LEN) });
  }
}
