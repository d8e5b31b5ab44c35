/**
 * Topic Name / Topic Filter syntax (MQTT 3.1.1 §4.7, 5.0 §4.7 and §4.8.2), checked on raw bytes.
 * '+', '#' and '/' are ASCII and can never occur inside a multi-byte UTF-8 sequence, so byte scans are exact.
 */
import { createHash } from 'node:crypto';

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;

/**
 * A stand-in for a topic where only equality matters (a Map key, a "same topic?" check): the topic itself when it has
 * at most `longest` characters, otherwise its length and SHA-256 between NULs (no valid topic holds a NUL). What is
 * kept is then bounded whatever the topic's length, and so is the cost of comparing two.
 */
export function topicDigest(topic: string, longest: number): string {
  if (topic.length <= longest) return topic;
  return `\u0000${topic.length}\u0000${createHash('sha256').update(topic).digest('hex')}`;
}

/** Offset of the first '+' or '#' in bytes[start,end), or -1. */
export function findWildcard(b: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c === PLUS || c === HASH) return i;
  }
  return -1;
}

export interface FilterIssue {
  code: 'filter-invalid' | 'share-syntax';
  offset: number;
  length: number;
  message: string;
}

/**
 * Checks wildcard placement in a non-empty filter: '#' must be a whole level and the last one,
 * '+' must be a whole level. Returns the first defect or null.
 */
export function checkFilterSyntax(b: Uint8Array, start: number, end: number): FilterIssue | null {
  let levelStart = start;
  for (let i = start; i <= end; i++) {
    if (i < end && b[i] !== SLASH) continue;
    // Level is [levelStart, i).
    const len = i - levelStart;
    for (let k = levelStart; k < i; k++) {
      const c = b[k]!;
      if (c === HASH) {
        if (len !== 1) {
          return { code: 'filter-invalid', offset: k, length: 1, message: "'#' must occupy a whole topic level" };
        }
        if (i !== end) {
          return { code: 'filter-invalid', offset: k, length: 1, message: "'#' must be the last character of the filter" };
        }
      } else if (c === PLUS && len !== 1) {
        return { code: 'filter-invalid', offset: k, length: 1, message: "'+' must occupy a whole topic level" };
      }
    }
    levelStart = i + 1;
  }
  return null;
}

const SHARE_PREFIX = [0x24, 0x73, 0x68, 0x61, 0x72, 0x65, 0x2f]; // "$share/"

export function isSharedFilter(b: Uint8Array, start: number, end: number): boolean {
  if (end - start < SHARE_PREFIX.length) return false;
  for (let k = 0; k < SHARE_PREFIX.length; k++) if (b[start + k] !== SHARE_PREFIX[k]) return false;
  return true;
}

/**
 * MQTT 5.0 shared subscription `$share/{ShareName}/{filter}`: ShareName non-empty without '/', '+', '#',
 * followed by '/' and a valid, non-empty filter. Caller has checked {@link isSharedFilter}.
 */
export function checkSharedFilter(b: Uint8Array, start: number, end: number): FilterIssue | null {
  const nameStart = start + SHARE_PREFIX.length;
  let i = nameStart;
  while (i < end && b[i] !== SLASH) {
    const c = b[i]!;
    if (c === PLUS || c === HASH) {
      return { code: 'share-syntax', offset: i, length: 1, message: "ShareName must not contain '+' or '#'" };
    }
    i++;
  }
  if (i === nameStart) {
    return { code: 'share-syntax', offset: nameStart, length: 0, message: 'ShareName is empty' };
  }
  if (i === end) {
    return { code: 'share-syntax', offset: start, length: end - start, message: "no '/' and Topic Filter after the ShareName" };
  }
  if (i + 1 === end) {
    return { code: 'share-syntax', offset: i, length: 1, message: 'Topic Filter after the ShareName is empty' };
  }
  return checkFilterSyntax(b, i + 1, end);
}

export { topicMatches } from './topic-match.js';

const SHARE = '$share/';

/** Whether a Topic Filter is a 5.0 shared subscription, `$share/{name}/{filter}`. */
export function isShared(filter: string): boolean {
  return filter.startsWith(SHARE);
}

/** `$share/{name}/{filter}` subscribes to `{filter}`. */
export function stripShare(filter: string): string {
  if (!isShared(filter)) return filter;
  const slash = filter.indexOf('/', SHARE.length);
  return slash < 0 ? filter : filter.slice(slash + 1);
}

/** The ShareName of `$share/{name}/{filter}` (empty when malformed), or null for a plain filter. */
export function shareName(filter: string): string | null {
  if (!isShared(filter)) return null;
  const slash = filter.indexOf('/', SHARE.length);
  return slash < 0 ? '' : filter.slice(SHARE.length, slash);
}
