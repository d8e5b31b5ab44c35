/**
 * The Topic Filter matcher alone, with no imports: src/mqtt/topics.ts re-exports it for the CLI, and the HTML page's
 * script (src/page/html.ts bundles this module into it) matches `topic matches a/+/#` with the very same code.
 */

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;

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
