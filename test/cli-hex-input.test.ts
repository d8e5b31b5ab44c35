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

describe('explain input: what Wireshark, tshark and hexdump give', async () => {
  const { readPasted } = await import('../src/cli/hex-input.js');

  it('hexdump -C: the |ASCII| column, the closing offset line, and * for repeated lines', () => {
    const dump = [
      '00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|',
      '*',
      '00000030  30 05 00 01 61 62 63                              |0...abc|',
      '00000037',
    ].join('\n');
    const { blocks, format } = readPasted(dump);
    expect(format).toBe('hex dump');
    expect(hex(blocks[0]!)).toBe('00'.repeat(48) + '30050001616263');
  });

  it('tshark -x: frames separated by blank lines are blocks; a Reassembled TCP section is the message', () => {
    const two = '0000  10 02 00 00   ....\n\n0000  20 02 00 00   ...\n';
    expect(readPasted(two).blocks.map(hex)).toEqual(['10020000', '20020000']);
    const sections = 'Frame (4 bytes):\n0000  aa bb cc dd   ....\nReassembled TCP (4 bytes):\n0000  e0 02 00 00   ....\n';
    const r = readPasted(sections);
    expect(r.blocks.map(hex)).toEqual(['e0020000']);
    expect(r.note).toMatch(/Reassembled TCP/);
  });

  it('Wireshark "Copy as C array", comments and all', () => {
    const c = '/* Frame (4 bytes) */\nstatic const unsigned char pkt4[4] = {\n0x20, 0x02, 0x00, 0x00 /* .... */\n};\n';
    expect(readPasted(c)).toMatchObject({ format: 'C array' });
    expect(hex(readPasted(c).blocks[0]!)).toBe('20020000');
    expect(hex(readPasted('char packet_bytes[] = {\n  0x20, 0x02, 0x00, 0x00\n};').blocks[0]!)).toBe('20020000');
  });

  it('Wireshark "Copy as escaped string", with line continuations', () => {
    const r = readPasted('"\\x20\\x02\\x00\\x00" \\\n"\\xe0\\x00"');
    expect(r.format).toBe('escaped string');
    expect(hex(r.blocks[0]!)).toBe('20020000e000');
  });

  it('base64: detected when it cannot be hex, forced with --base64', () => {
    const connack = Buffer.from([0x20, 0x02, 0x00, 0x00]);
    expect(readPasted(connack.toString('base64'))).toMatchObject({ format: 'base64' });
    expect(hex(readPasted(connack.toString('base64')).blocks[0]!)).toBe('20020000');
    // "deadbeef" is valid base64 and valid hex: hex wins unless asked.
    expect(hex(readPasted('deadbeef').blocks[0]!)).toBe('deadbeef');
    expect(hex(readPasted('deadbeef', { base64: true }).blocks[0]!)).toBe(Buffer.from('deadbeef', 'base64').toString('hex'));
    expect(() => readPasted('hello')).toThrow(HexInputError);
  });
});

describe('explain input: captured frames give their TCP payload', async () => {
  const { readFileSync } = await import('node:fs');
  const { CaptureParser } = await import('../src/capture/reader.js');
  const { NetDecoder } = await import('../src/net/decoder.js');
  const { pastedMqttBytes } = await import('../src/cli/pasted-frame.js');

  /** A dump of `b` the way tshark -x prints it (offset, 16 pairs, ASCII column). */
  const tsharkDump = (b: Uint8Array): string => {
    const lines: string[] = [];
    for (let i = 0; i < b.length; i += 16) {
      const row = [...b.subarray(i, i + 16)];
      const pairs = row.map((x) => x.toString(16).padStart(2, '0')).join(' ');
      lines.push(`${i.toString(16).padStart(4, '0')}  ${pairs.padEnd(48)}  ${row.map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('')}`);
    }
    return lines.join('\n');
  };

  for (const file of ['captures/real-v311-qos.pcap', 'captures/real-v5-props.pcapng', 'captures/real-v31-sll2.pcap']) {
    it(`${file}: every frame pasted as a dump yields exactly its TCP payload`, () => {
      const frames: Array<{ data: Uint8Array; payload: Uint8Array | null }> = [];
      const net = new NetDecoder(() => {});
      const p = new CaptureParser({ record: (r) => { const data = Uint8Array.from(r.data); const seg = net.decode({ ...r, data }); frames.push({ data, payload: seg ? Uint8Array.from(seg.payload) : null }); }, event: () => {} }, file);
      p.push(readFileSync(file));
      p.end();
      let withPayload = 0;
      for (const f of frames) {
        if (!f.payload || f.payload.length === 0) continue;
        withPayload++;
        const notes: string[] = [];
        expect(hex(pastedMqttBytes(tsharkDump(f.data), false, notes))).toBe(hex(f.payload));
        expect(notes.join('\n')).toMatch(/captured frame .*TCP payload/);
      }
      expect(withPayload).toBeGreaterThan(5);
    });
  }

  it('plain MQTT bytes are not taken for a frame', () => {
    const notes: string[] = [];
    const connect = '10 2d 00 04 4d 51 54 54 04 c2 0b b8 00 10 34 30 46 30 36 30 30 30 35 30 38 30 34 30 35 30 00 05 61 64 6d 69 6e 00 08 70 61 73 73 77 6f 72 64';
    expect(hex(pastedMqttBytes(connect, false, notes))).toBe(connect.replace(/ /g, ''));
    expect(notes).toEqual([]);
  });
});
