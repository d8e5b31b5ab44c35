/**
 * Suricata as a reference point for the benchmark (issue #11): Suricata 7 single-threaded, its MQTT parser on, eve.json
 * with one `mqtt` event per transaction, no rules. The bench writes the configuration itself (bench/out/), so the
 * figures do not depend on the machine's /etc/suricata/suricata.yaml.
 *
 *   suricata --runmode single -k none -r F -l DIR -c bench/out/suricata-mqtt.yaml -S /dev/null
 *
 * `-k none`: no checksum validation (Suricata drops segments it judges corrupt, and captures taken with checksum offload
 * carry wrong ones; we never check them either); `-S /dev/null`: an empty rule set, so the detection engine has nothing
 * to match and the time is capture reading, flow tracking, TCP reassembly, MQTT parsing and eve.json writing.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const SURICATA = 'suricata';

/** "7.0.10" or null when suricata is not installed (or does not run). */
export function suricataVersion() {
  const r = spawnSync(SURICATA, ['-V'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) return null;
  const m = /version (\S+)/.exec(r.stdout);
  return m ? m[1] : r.stdout.trim().split('\n')[0] || null;
}

/**
 * The configuration: MQTT on the capture's ports, eve.json with mqtt events only, no stats, no other loggers. The log
 * directory is given on the command line (-l), so the file is the same for every run on the same ports.
 */
export function suricataYaml(ports) {
  return `%YAML 1.1
---
# Written by bench/run.mjs (bench/suricata.mjs): Suricata's MQTT parser and eve.json, nothing else.
vars:
  address-groups:
    HOME_NET: "any"
    EXTERNAL_NET: "any"
stats:
  enabled: no
outputs:
  - eve-log:
      enabled: yes
      filetype: regular
      filename: eve.json
      types:
        - mqtt
logging:
  default-log-level: notice
  outputs:
    - console:
        enabled: yes
app-layer:
  protocols:
    mqtt:
      enabled: yes
      detection-ports:
        dp: "[${ports.join(', ')}]"
stream:
  memcap: 512mb
  checksum-validation: no
  reassembly:
    memcap: 1gb
`;
}

/**
 * Writes `dir`/suricata-mqtt.yaml (through a temporary file, so a concurrent bench never reads half of it), creates
 * `logDir` and returns { yaml, logDir }.
 */
export function writeSuricataConfig(dir, ports, logDir) {
  mkdirSync(logDir, { recursive: true });
  const yaml = join(dir, 'suricata-mqtt.yaml');
  const tmp = `${yaml}.${process.pid}.tmp`;
  writeFileSync(tmp, suricataYaml(ports));
  renameSync(tmp, yaml);
  return { yaml, logDir };
}

export function suricataArgs(capture, yaml, logDir) {
  return [SURICATA, '--runmode', 'single', '-k', 'none', '-r', capture, '-l', logDir, '-c', yaml, '-S', '/dev/null'];
}

/**
 * MQTT messages in an eve.json: every key of each event's `mqtt` object is one packet (a transaction holds a request and
 * its responses: connect + connack, publish + pubrec + pubrel + pubcomp), except Suricata's own markers.
 */
export async function countEveMessages(evePath) {
  const c = { events: 0, messages: 0, byType: {} };
  const rl = createInterface({ input: createReadStream(evePath), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line) continue;
    const o = JSON.parse(line);
    if (o.event_type !== 'mqtt' || !o.mqtt) continue;
    c.events++;
    for (const k of Object.keys(o.mqtt)) {
      if (k === 'truncated' || k === 'skipped_length') continue;
      c.messages++;
      const t = k.toUpperCase();
      c.byType[t] = (c.byType[t] ?? 0) + 1;
    }
  }
  return c;
}
