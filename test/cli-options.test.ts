/** The option tables, the usage check and shell completion of src/cli/options.ts, in-process. */
import { describe, expect, it } from 'vitest';
import { checkArgv, COMMANDS, completions } from '../src/cli/options.js';

describe('checkArgv', () => {
  it('separates operands from options and their values, in order', () => {
    const c = checkArgv(['--json', 'a.pcap', '-r', 'b.pcap', '-p', '9001', '--dialect=onenet', 'c.pcap', '-xV']);
    expect(c.error).toBeNull();
    expect(c.positionals).toEqual(['a.pcap', 'b.pcap', 'c.pcap']);
    expect(c.options).toEqual(['--json', '--port', '9001', '--dialect=onenet', '--hex', '--verbose']);
  });

  it('explain: every word that is not an option is a byte, "-" included', () => {
    const c = checkArgv(['explain', '--json', '10', '02', '-', '--protocol-version', '5', '00']);
    expect(c.error).toBeNull();
    expect(c.positionals).toEqual(['10', '02', '-', '00']);
  });

  it('names the first thing wrong', () => {
    expect(checkArgv(['--bogus', 'x.pcap']).error).toBe('unknown option --bogus');
    expect(checkArgv(['-Q', 'x.pcap']).error).toBe('unknown option -Q');
    expect(checkArgv(['--port', 'abc', 'x.pcap']).error).toBe('--port needs a number 1-65535 (got "abc")');
    expect(checkArgv(['--port=65536', 'x.pcap']).error).toMatch(/^--port needs a number 1-65535/);
    expect(checkArgv(['x.pcap', '--port']).error).toBe('--port needs a value');
    expect(checkArgv(['--json=yes', 'x.pcap']).error).toBe('--json takes no value');
    expect(checkArgv(['explain', '-x', '10']).error).toMatch(/explain always prints the annotated hex/);
    expect(checkArgv(['rules', '--summary']).error).toBe('unknown option --summary for rules');
    expect(checkArgv(['--report', 'junit', 'r.xml', 'x.pcap'])).toMatchObject({ error: null, positionals: ['x.pcap'], pairs: { report: [['junit', 'r.xml']] } });
    expect(checkArgv(['--report', 'html', 'r.html', 'x.pcap']).error).toBe('--report takes junit, sarif (got "html")');
    expect(checkArgv(['x.pcap', '--report', 'junit']).error).toMatch(/^--report needs two words: junit or sarif, then a file/);
    expect(checkArgv(['x.pcap', '--report=junit', 'r.xml']).error).toMatch(/^--report needs two words/);
    expect(checkArgv(['audit', '--show-secrets', 'x.pcap'])).toMatchObject({ error: null, positionals: ['x.pcap'] });
    expect(checkArgv(['--no-json', 'x.pcap']).error).toBeNull();
    expect(checkArgv(['--', '--json']).positionals).toEqual(['--json']);
  });

  it('runs in linear time over many words', () => {
    const words = ['explain', ...Array.from({ length: 200_000 }, () => '78')];
    expect(checkArgv(words).positionals).toHaveLength(200_000);
  });
});

describe('completion', () => {
  for (const command of Object.keys(COMMANDS)) {
    it(`${command}: every option offered is one the command takes, and no one-letter alias is offered as --X`, () => {
      const prefix = command === 'read' ? [] : [command];
      const offered = completions([...prefix, '--']);
      for (const o of offered) {
        expect(o).toMatch(/^--[a-z][a-z0-9-]+$/);
        const value = completions([...prefix, o, '']);
        const args = [...prefix, o, ...(value.length > 0 ? [value[0]!] : []), 'x'];
        const c = checkArgv(args);
        // Options that take free values (--port, --shard, -r) complain about "x", never about the option's name.
        expect(c.error ?? '', o).not.toMatch(/unknown option/);
      }
    });
  }

  it('offers choices after an option that has them, and file names (nothing) elsewhere', () => {
    expect(completions(['--dialect', ''])).toEqual(['auto', 'onenet', 'none']);
    expect(completions(['--dialect', '=', 'n'])).toEqual(['none']);
    expect(completions(['--dialect=o'])).toEqual(['--dialect=onenet']);
    expect(completions(['--su'])).toEqual(['--summary']);
    expect(completions(['ex'])).toEqual(['explain']);
    expect(completions(['x.pcap', ''])).toEqual([]);
    expect(completions(['-p', ''])).toEqual([]);
  });
});
