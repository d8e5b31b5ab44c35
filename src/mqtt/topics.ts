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

/**
 * Whether a Topic Name matches a Topic Filter as a server matches them (3.1.1 and 5.0 §4.7): '+' matches one whole
 * level, '#' as the last level matches its parent and every level below, and a filter starting with a wildcard does
 * not match a topic starting with '$' (MQTT-4.7.2-1; `dollarRule` false leaves that rule to the caller, which the
 * per-connection checks use to say why such a topic matched nothing). A `$share/{group}/` prefix is not removed here:
 * callers that hold a shared subscription pass the filter after it ({@link stripShare}). Walks both strings once,
 * allocating nothing. The one matcher of the filter language (-Y), the per-connection rules and the sessions stage.
 */
export function topicMatches(filter: string, topic: string, dollarRule = true): boolean {
  if (dollarRule && topic.charCodeAt(0) === 0x24 /* $ */) {
    const f0 = filter.charCodeAt(0);
    if (f0 === PLUS || f0 === HASH) return false;
  }
  let fi = 0;
  let ti = 0;
  const fl = filter.length;
  const tl = topic.length;
  for (;;) {
    // At the start of a level in both.
    if (fi < fl && filter.charCodeAt(fi) === HASH && fi + 1 === fl) return true;
    if (fi < fl && filter.charCodeAt(fi) === PLUS && (fi + 1 === fl || filter.charCodeAt(fi + 1) === SLASH)) {
      // Skip the topic's level.
      while (ti < tl && topic.charCodeAt(ti) !== SLASH) ti++;
      fi++;
    } else {
      // Literal level: compare up to the next '/'.
      while (fi < fl && ti < tl) {
        const c = filter.charCodeAt(fi);
        if (c === SLASH) break;
        if (c !== topic.charCodeAt(ti)) return false;
        fi++;
        ti++;
      }
      if (fi < fl && filter.charCodeAt(fi) !== SLASH) return false;
      if (ti < tl && topic.charCodeAt(ti) !== SLASH) return false;
    }
    // Both at a level end: a '/' or the end of the string.
    const fEnd = fi >= fl;
    const tEnd = ti >= tl;
    if (fEnd && tEnd) return true;
    if (fEnd) return false;
    // "a/#" matches "a": the filter's next level is a final '#' and the topic has ended.
    if (tEnd) return filter.length - fi === 2 && filter.charCodeAt(fi + 1) === HASH;
    fi++;
    ti++;
  }
}

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
