// The textbook node:dgram flood generator: FLOWS connected sockets, each keeping WINDOW datagrams
// outstanding and sending one more per echo. Counts echoes after the warm-up; prints one JSON line.
// Usage: node naive-generator.mjs HOST PORT DURATION_MS WARMUP_MS FLOWS WINDOW SIZE
import { Buffer } from 'node:buffer';
import dgram from 'node:dgram';
import { clearInterval, setInterval } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';

const [
  host = '127.0.0.1',
  port = '7',
  durationMs = '5000',
  warmupMs = '0',
  flows = '4',
  window = '16',
  size = '64',
] = process.argv.slice(2);
const payload = Buffer.alloc(Number(size), 0x61);
let measuring = false;
let running = true;
let echoes = 0;

const sockets = [];
for (let i = 0; i < Number(flows); i++) {
  const socket = dgram.createSocket('udp4');
  const flow = { socket, outstanding: 0, lastReply: Date.now() };
  const send = () => {
    flow.outstanding++;
    socket.send(payload);
  };
  socket.on('message', () => {
    flow.outstanding--;
    flow.lastReply = Date.now();
    if (measuring) echoes++;
    if (running) send();
  });
  socket.on('error', () => undefined); // ICMP errors: the refill timer below takes over
  await new Promise((resolve) => socket.connect(Number(port), host, resolve));
  flow.refill = () => {
    // A window that got no reply for 100 ms is presumed lost: refill it.
    if (Date.now() - flow.lastReply > 100) flow.outstanding = 0;
    while (running && flow.outstanding < Number(window)) send();
  };
  sockets.push(flow);
}

const refill = setInterval(() => sockets.forEach((f) => f.refill()), 50);
sockets.forEach((f) => f.refill());
await sleep(Number(warmupMs));
measuring = true;
const t0 = process.hrtime.bigint();
await sleep(Number(durationMs));
measuring = false;
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
running = false;
clearInterval(refill);
sockets.forEach((f) => f.socket.close());
console.log(
  JSON.stringify({
    mode: 'flood',
    echoes,
    seconds,
    rate: echoes / seconds,
    flows: Number(flows),
    window: Number(window),
    size: Number(size),
  }),
);
