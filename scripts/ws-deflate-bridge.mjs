#!/usr/bin/env node
// A WebSocket front for an MQTT broker that accepts permessage-deflate (RFC 7692), for the capture corpus
// (scripts/make-captures.sh, real-ws-8083.pcap): mosquitto's websockets listener does not offer the extension, the
// `ws` library (installed with MQTT.js) does. Each WebSocket connection gets its own TCP connection to the broker;
// binary messages go to it as they are, its bytes come back as binary messages.
//
//   node scripts/ws-deflate-bridge.mjs LISTEN_PORT BROKER_PORT
//
// Negotiated: both sides keep their context from message to message (context takeover), the client with a 10-bit
// window (client_max_window_bits=10). Every message is compressed (threshold 0). Not server_no_context_takeover:
// tshark 4.0 then fails to inflate the client's messages that refer to earlier ones (docs/differences.md), and the
// corpus is counted with tshark.
// Listens on 127.0.0.1 only; prints LISTENING once it does; stops on SIGTERM/SIGINT.
import net from 'node:net';
import { WebSocketServer } from 'ws';

const [listenPort, brokerPort] = process.argv.slice(2).map(Number);
if (!Number.isInteger(listenPort) || !Number.isInteger(brokerPort)) {
  console.error('usage: ws-deflate-bridge.mjs LISTEN_PORT BROKER_PORT');
  process.exit(2);
}

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: listenPort,
  handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
  perMessageDeflate: { threshold: 0, clientMaxWindowBits: 10 },
});

wss.on('connection', (ws) => {
  const broker = net.connect(brokerPort, '127.0.0.1');
  const pending = [];
  broker.on('connect', () => {
    for (const b of pending.splice(0)) broker.write(b);
  });
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return;
    if (broker.connecting) pending.push(data);
    else broker.write(data);
  });
  broker.on('data', (b) => ws.send(b, { binary: true }));
  ws.on('close', () => broker.end());
  broker.on('close', () => ws.close(1000, 'broker closed'));
  broker.on('error', () => ws.terminate());
  ws.on('error', () => broker.destroy());
});

wss.on('listening', () => console.log('LISTENING'));
const stop = () => wss.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
