// The textbook node:dgram echo server: one 'message' event and one send per datagram.
// Usage: node naive-server.mjs [PORT [ADDRESS]]; prints "listening on udp port N".
import dgram from 'node:dgram';

const socket = dgram.createSocket('udp4');
socket.on('message', (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address));
socket.bind(Number(process.argv[2] ?? 0), process.argv[3] ?? '127.0.0.1', () => {
  console.log(`listening on udp port ${socket.address().port}`);
});
