/**
 * One severity per finding (issue 12): every finding carries the severity its catalogue entry lists, so what
 * `mqtt-dissect rules` and docs/rules.md say is what the output says. Checked on every finding of every capture
 * (captures/, the synthetic ones built from test/builders, the public ones when present) and of the builder
 * scenarios in test/rules-cases.test.ts (which run the same check on their own cases).
 */
import { describe, expect, test } from 'vitest';
import type { PacketSink, Violation } from '../src/mqtt/connection-decoder.js';
import { readCapture } from '../src/capture/source.js';
import { buildPipeline } from '../src/cli/pipeline.js';
import { closeViolations } from '../src/rules/close.js';
import type { ConnectionEnd } from '../src/tcp/types.js';
import { tempFile } from './builders/cli.js';
import { allCaptures } from './builders/public.js';
import { severityMismatches } from './builders/rules-harness.js';
import { SYNTHETIC_CAPTURES } from './builders/synthetic-captures.js';

async function findings(path: string, extraPorts: number[]): Promise<Violation[]> {
  const out: Violation[] = [];
  const sink: PacketSink = {
    open() {},
    close(_conn, end?: ConnectionEnd) { if (end) out.push(...closeViolations(end)); },
    packet(rec) { out.push(...rec.violations); },
    event(ev) { out.push(...((ev as { violations?: Violation[] }).violations ?? [])); },
  };
  const pipeline = buildPipeline(sink, { dialect: 'auto', ports: [...new Set([1883, 6002, ...extraPorts])], auto: false, tree: false });
  await readCapture(path, pipeline);
  pipeline.finish();
  return out;
}

describe('emitted severity equals the catalogue severity', () => {
  const captures = [
    ...Object.entries(SYNTHETIC_CAPTURES).map(([name, build]) => ({ name: `built ${name}`, path: tempFile(`sev-${name}`, build()), extraPorts: [] as number[] })),
    ...allCaptures(),
  ];
  for (const c of captures) {
    test(c.name, async () => {
      const vs = await findings(c.path, c.extraPorts);
      expect(severityMismatches(vs)).toEqual([]);
    });
  }
});
