import { describe, expect, it } from 'vitest';
import { HexInputError, parseHexInput } from '../src/cli/hex-input.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('explain input: bytes pasted from anywhere', () => {
  it('reads spaced pairs, one run, 0x lists, \\x escapes and C arrays alike', () => {
    for (const text of ['10 2d 00 04', '102d0004', '0x10,0x2d,0x00,0x04', '\\x10\\x2d\\x00\\x04', '{0x10, 0x2D, 0x00, 0x04};', '10:2d:00:04']) {
      expect(hex(parseHexInput(text)), text).toBe('102d0004');
    }
  });

  it('reads a Wireshark hex dump and ignores offsets and the ASCII column', () => {
    const dump = [
      '0000  10 2d 00 04 4d 51 54 54  04 c2 0b b8 00 10 34 30   .-..MQTT......40',
      '0010  46 30                                              F0',
    ].join('\n');
    expect(hex(parseHexInput(dump))).toBe('102d00044d51545404c20bb800103430' + '4630');
  });

  it('reads an xxd dump', () => {
    const dump = '00000000: 102d 0004 4d51 5454 04c2 0bb8 0010 3430  .-..MQTT......40\n00000010: 4630                                     F0';
    expect(hex(parseHexInput(dump))).toBe('102d00044d51545404c20bb8001034304630');
  });

  it('reads a one-line dump that starts at offset 0', () => {
    expect(hex(parseHexInput('0000  20 02 00 00     ....'))).toBe('20020000');
  });

  it('rejects what is not hex with a message naming it', () => {
    expect(() => parseHexInput('10 zz')).toThrow(HexInputError);
    expect(() => parseHexInput('10 zz')).toThrow(/zz/);
    expect(() => parseHexInput('   ')).toThrow(/no bytes/);
    expect(() => parseHexInput('abc')).toThrow(/odd/);
  });
});
