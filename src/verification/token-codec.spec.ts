import { describe, expect, it } from 'vitest';
import { BODY_LEN, checksum, crc32, TokenCodec } from './token-codec.js';

describe('TokenCodec', () => {
  const codec = new TokenCodec('kw_');

  it('makes prefix + 65 base62 characters that parse back to their lookup id', () => {
    const t = codec.generate();
    expect(t.token).toMatch(/^kw_[0-9A-Za-z]{65}$/);
    expect(t.token.length).toBe(3 + BODY_LEN);
    expect(codec.parse(t.token)).toEqual({ lookupId: t.lookupId });
    expect(t.stub).toBe(`kw_${t.lookupId.slice(0, 6)}…`);
    expect(t.stub).not.toContain(t.token.slice(3 + 16));
  });

  it('carries at least 256 bits of secret and never repeats', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(codec.generate().token);
    expect(seen.size).toBe(200);
    expect(Math.log2(62) * 43).toBeGreaterThanOrEqual(256);
  });

  it('keeps the lookup id when asked (rotation)', () => {
    const a = codec.generate();
    const b = codec.generate(a.lookupId);
    expect(b.lookupId).toBe(a.lookupId);
    expect(b.token).not.toBe(a.token);
  });

  it('rejects garbage, typos, other prefixes and wrong lengths without any I/O', () => {
    const t = codec.generate().token;
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'a' ? 'b' : 'a') + s.slice(i + 1);
    for (const bad of [
      '',
      'kw_',
      t.slice(0, -1),
      t + 'x',
      flip(t, 10),
      flip(t, t.length - 1),
      t.replace('kw_', 'xx_'),
      t.slice(0, 20) + '-' + t.slice(21),
      'Bearer ' + t,
    ]) {
      expect(codec.parse(bad)).toBeNull();
    }
    expect(new TokenCodec('sk_live_').parse(t)).toBeNull();
  });

  it('computes the standard CRC-32', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
  });

  it('computes the checksum like the BigInt base62 encoding of the CRC-32 bytes, also for non-ASCII text', () => {
    const reference = (text: string) => {
      const buf = Buffer.alloc(4);
      let crc = 0xffffffff;
      for (const byte of Buffer.from(text, 'utf8')) {
        crc ^= byte;
        for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
      }
      buf.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
      const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
      let n = BigInt('0x' + buf.toString('hex'));
      let out = '';
      while (n > 0n) {
        out = alphabet[Number(n % 62n)] + out;
        n /= 62n;
      }
      return out.padStart(6, '0');
    };
    const samples = [
      '',
      'a',
      'kw_abc',
      'prefixé_xyz',
      '🔑_token',
      ...Array.from({ length: 200 }, () => codec.generate().token),
    ];
    for (const text of samples) expect(checksum(text), text).toBe(reference(text));
    expect(crc32('123456789')).toBe(0xcbf43926);
  });
});
