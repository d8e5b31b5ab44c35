export async function main(_argv: string[]): Promise<number> {
  process.stderr.write('mqtt-dissect: not wired yet\n');
  return 1;
}
