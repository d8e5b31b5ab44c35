import { Chalk, type ChalkInstance } from 'chalk';

export interface ColorChoice {
  /** --color / --no-color; undefined when neither was given. */
  flag: boolean | undefined;
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}

/**
 * Colour is decided once: an explicit flag wins, then NO_COLOR (any non-empty value), then FORCE_COLOR, then whether
 * stdout is a terminal. chalk alone would ignore NO_COLOR, so it is always given an explicit level.
 */
export function decideColor({ flag, isTTY, env }: ColorChoice): boolean {
  if (flag !== undefined) return flag;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return isTTY;
}

export function makeChalk(enabled: boolean): ChalkInstance {
  return new Chalk({ level: enabled ? 1 : 0 });
}
