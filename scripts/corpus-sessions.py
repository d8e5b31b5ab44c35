#!/usr/bin/python3
"""MQTT clients for the `sessions` group of scripts/make-captures.sh (real-sessions.pcap), on raw sockets where the
scenario needs what a library will not do (leave QoS 1 PUBLISH unacknowledged, take a ClientId over on purpose), and
paho for the shared-subscription members. Every wait is bounded; every mode prints what it saw, one fact a line, and
exits non-zero when the broker did not do what the scenario expects.

  corpus-sessions.py HOST PORT persist-a   persistent 3.1.1 subscriber; receives 2 QoS 1 PUBLISH, acks none, prints
                                           READY / GOT 2, then waits to be killed (SIGKILL by the caller)
  corpus-sessions.py HOST PORT persist-b   the same ClientId again (Clean Session 0): Session Present 1, the 2 unacked
                                           PUBLISH resent with DUP=1 and their packet ids, then the one queued meanwhile
  corpus-sessions.py HOST PORT takeover    3.1.1 and 5.0 ClientId takeovers (the 5.0 victim has a Will)
  corpus-sessions.py HOST PORT share       two members of $share/g/corpus/sess/shared/#; prints READY, then waits for 4
  corpus-sessions.py HOST PORT ids         (real-sessions-v5.pcap) a 5.0 subscriber of corpus/s5/ids/# (Subscription
                                           Identifier 1) and corpus/s5/ids/+ (2) in two SUBSCRIBEs; prints READY, then
                                           each PUBLISH with the identifiers it carries, until 3
  corpus-sessions.py HOST PORT twins       (real-sessions-v5.pcap) ClientId corpus-s5-twin from 127.0.0.1 and 127.0.0.2
                                           in turn, 4 connections: 3 takeovers back and forth, each closing the other
"""
import socket
import struct
import sys
import time

HOST, PORT, MODE = sys.argv[1], int(sys.argv[2]), sys.argv[3]
DEADLINE = time.monotonic() + 30


def fail(msg):
    print(f'FAIL {msg}', flush=True)
    sys.exit(1)


def vbi(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def s(x):
    b = x.encode() if isinstance(x, str) else x
    return struct.pack('>H', len(b)) + b


def pkt(first, body):
    return bytes([first]) + vbi(len(body)) + body


def connect(cid, level=4, clean=True, keepalive=60, will=None, props=b'', will_props=b''):
    flags = 0x02 if clean else 0
    payload = s(cid)
    if will is not None:
        topic, msg, qos = will
        flags |= 0x04 | (qos << 3)
        payload += (vbi(len(will_props)) + will_props if level == 5 else b'') + s(topic) + s(msg)
    var = s('MQTT') + bytes([level, flags]) + struct.pack('>H', keepalive)
    if level == 5:
        var += vbi(len(props)) + props
    return pkt(0x10, var + payload)


def subscribe(pid, topic, qos, level=4, props=b''):
    return pkt(0x82, struct.pack('>H', pid) + (vbi(len(props)) + props if level == 5 else b'') + s(topic) + bytes([qos]))


def read_vbi(b, i):
    n, mul = 0, 1
    while True:
        n += (b[i] & 0x7F) * mul
        mul *= 128
        i += 1
        if not b[i - 1] & 0x80:
            return n, i


def sub_ids(body, qos):
    """The Subscription Identifiers (property 0x0B) of a 5.0 PUBLISH body; the scenario's PUBLISH carry no other."""
    tlen = struct.unpack('>H', body[:2])[0]
    i = 2 + tlen + (2 if qos else 0)
    plen, i = read_vbi(body, i)
    end, ids = i + plen, []
    while i < end:
        if body[i] != 0x0B:
            fail(f'unexpected property 0x{body[i]:02x}')
        v, i = read_vbi(body, i + 1)
        ids.append(v)
    return ids


def disconnect(level=4):
    return pkt(0xE0, b'\x00\x00' if level == 5 else b'')


class Conn:
    def __init__(self, source=None):
        self.sock = socket.create_connection((HOST, PORT), timeout=10, source_address=(source, 0) if source else None)
        self.buf = b''

    def send(self, b):
        self.sock.sendall(b)

    def read(self, timeout=10):
        """One packet (first byte, body), or None when the broker closed the connection."""
        end = min(DEADLINE, time.monotonic() + timeout)
        while True:
            p = self.parse()
            if p is not None:
                return p
            left = end - time.monotonic()
            if left <= 0:
                fail('timed out waiting for a packet')
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            self.buf += chunk

    def parse(self):
        n, mul = 0, 1
        for i in range(1, min(5, len(self.buf))):
            n += (self.buf[i] & 0x7F) * mul
            mul *= 128
            if not self.buf[i] & 0x80:
                if len(self.buf) < i + 1 + n:
                    return None
                first, body = self.buf[0], self.buf[i + 1:i + 1 + n]
                self.buf = self.buf[i + 1 + n:]
                return first, body
        return None

    def expect(self, ptype, what):
        p = self.read()
        if p is None or p[0] >> 4 != ptype:
            fail(f'{what}: got {p!r}')
        return p[1]


def publish_fields(first, body):
    tlen = struct.unpack('>H', body[:2])[0]
    topic = body[2:2 + tlen].decode()
    qos = (first >> 1) & 3
    pid = struct.unpack('>H', body[2 + tlen:4 + tlen])[0] if qos else None
    return topic, qos, pid, bool(first & 0x08), body[4 + tlen if qos else 2 + tlen:]


PSUB = 'corpus-sess-psub'

if MODE == 'persist-a':
    c = Conn()
    c.send(connect(PSUB, clean=False))
    c.expect(2, 'CONNACK')
    c.send(subscribe(1, 'corpus/sess/inflight/#', 1))
    if c.expect(9, 'SUBACK')[-1] != 1:
        fail('SUBACK did not grant QoS 1')
    print('READY', flush=True)
    got = 0
    while got < 2:
        p = c.read()
        if p is None:
            fail('closed by the broker')
        if p[0] >> 4 == 3:
            topic, qos, pid, dup, payload = publish_fields(*p)
            got += 1
            print(f'PUBLISH {topic} qos={qos} id={pid} dup={int(dup)} {payload.decode()}', flush=True)
    print('GOT 2', flush=True)
    time.sleep(25)  # killed here, the two PUBLISH unacknowledged
    fail('not killed')

elif MODE == 'persist-b':
    c = Conn()
    c.send(connect(PSUB, clean=False))
    ack = c.expect(2, 'CONNACK')
    if ack[0] & 1 != 1 or ack[1] != 0:
        fail(f'CONNACK {ack.hex()}: no session present')
    print('SESSION PRESENT', flush=True)
    seen = []
    while len(seen) < 3:
        p = c.read()
        if p is None:
            fail('closed by the broker')
        if p[0] >> 4 != 3:
            continue
        topic, qos, pid, dup, payload = publish_fields(*p)
        seen.append((dup, payload.decode()))
        print(f'PUBLISH {topic} qos={qos} id={pid} dup={int(dup)} {payload.decode()}', flush=True)
        c.send(pkt(0x40, struct.pack('>H', pid)))
    want = [(True, 'in-flight message 1'), (True, 'in-flight message 2'), (False, 'queued message 3')]
    if seen != want:
        fail(f'redelivery {seen}, expected {want}')
    c.send(disconnect())
    c.sock.close()

elif MODE == 'takeover':
    for level in (4, 5):
        cid = f'corpus-sess-twin{level}'
        a = Conn()
        will = ('corpus/sess/will/twin5', 'corpus-sess-twin5 taken over', 1) if level == 5 else None
        # 5.0: Will Delay 0, Session Expiry 0: the takeover ends the session, so the Will is published.
        a.send(connect(cid, level=level, will=will, will_props=b'\x18\x00\x00\x00\x00' if level == 5 else b''))
        a.expect(2, f'CONNACK to the first {cid}')
        time.sleep(0.2)
        b = Conn()
        b.send(connect(cid, level=level))
        b.expect(2, f'CONNACK to the second {cid}')
        p = a.read()
        # 5.0 allows a DISCONNECT 0x8E before the close (mosquitto 2.0.11 sends none).
        if level == 5 and p is not None and p[0] >> 4 == 14 and p[1][:1] == b'\x8e':
            print('TAKEOVER 5 DISCONNECT 0x8E', flush=True)
            p = a.read()
        if p is not None:
            fail(f'takeover {level}: the first connection got {p!r} instead of its close')
        print(f'TAKEOVER {level} CLOSED', flush=True)
        a.sock.close()
        time.sleep(0.2)
        b.send(disconnect(level))
        b.sock.close()

elif MODE == 'share':
    import paho.mqtt.client as mqtt
    got = {'a': [], 'b': []}
    subs = []
    for name in ('a', 'b'):
        m = mqtt.Client(client_id=f'corpus-sess-share-{name}', clean_session=True, protocol=mqtt.MQTTv311)
        m.on_message = lambda _c, _u, msg, name=name: got[name].append(msg.payload.decode())
        acked = []
        m.on_subscribe = lambda *_a, acked=acked: acked.append(1)
        m.connect(HOST, PORT, 60)
        m.loop_start()
        m.subscribe('$share/g/corpus/sess/shared/#', 1)
        subs.append((m, acked))
    while not all(x[1] for x in subs):
        if time.monotonic() > DEADLINE:
            fail('no SUBACK')
        time.sleep(0.05)
    print('READY', flush=True)
    while len(got['a']) + len(got['b']) < 4:
        if time.monotonic() > DEADLINE:
            fail(f'shared messages: {got}')
        time.sleep(0.05)
    time.sleep(0.5)  # a copy to both members would show here
    for m, _ in subs:
        m.disconnect()
        m.loop_stop()
    if sorted(got['a'] + got['b']) != [f'shared message {i}' for i in range(1, 5)]:
        fail(f'shared messages: {got}')
    print(f'SHARE a={len(got["a"])} b={len(got["b"])}', flush=True)

elif MODE == 'ids':
    c = Conn()
    c.send(connect('corpus-s5-ids', level=5))
    c.expect(2, 'CONNACK')
    for pid, (topic, sid) in enumerate((('corpus/s5/ids/#', 1), ('corpus/s5/ids/+', 2)), 1):
        c.send(subscribe(pid, topic, 0, level=5, props=b'\x0b' + vbi(sid)))
        c.expect(9, f'SUBACK {pid}')
    print('READY', flush=True)
    got = 0
    while got < 3:
        p = c.read()
        if p is None:
            fail('closed by the broker')
        if p[0] >> 4 == 3:
            topic, qos, _pid, _dup, _ = publish_fields(*p)
            got += 1
            print(f'PUBLISH {topic} ids={",".join(map(str, sorted(sub_ids(p[1], qos))))}', flush=True)
    time.sleep(0.3)
    c.send(disconnect(5))
    c.sock.close()

elif MODE == 'twins':
    old = None
    for i, source in enumerate(('127.0.0.1', '127.0.0.2', '127.0.0.1', '127.0.0.2')):
        c = Conn(source)
        c.send(connect('corpus-s5-twin'))
        c.expect(2, f'CONNACK {i + 1} from {source}')
        if old is not None:
            if old.read() is not None:
                fail(f'takeover {i}: the older connection was not closed')
            old.sock.close()
            print(f'TAKEOVER {i} {source}', flush=True)
        old = c
        time.sleep(0.2)
    old.send(disconnect())
    old.sock.close()

else:
    fail(f'unknown mode {MODE}')
