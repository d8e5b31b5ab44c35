/**
 * Packet identifiers 1, 2, 3, ... in the order packets are sent (MQTT.js' default provider starts at a random number),
 * so reruns of the corpus scripts give the same identifiers. An MQTT.js messageIdProvider.
 */
export class SequentialMessageIdProvider {
  next = 1;
  last = 0;
  allocate() {
    this.last = this.next;
    this.next = this.next === 65535 ? 1 : this.next + 1;
    return this.last;
  }
  getLastAllocated() {
    return this.last;
  }
  register() {
    return true;
  }
  deallocate() {}
  clear() {}
}

/** `promise`, or a rejection naming `what` once `ms` pass (the corpus scripts bound every wait). */
export function timeout(promise, what, ms) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
