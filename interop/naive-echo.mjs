// A naive node:dgram echo server, as a tutorial writes one: bound to the wildcard address, it
// replies with whatever arrived, from whichever address the kernel picks for the reply.
import dgram from 'node:dgram';

const port = Number(process.argv[2] ?? 7);
const socket = dgram.createSocket('udp4');
socket.on('message', (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address));
socket.bind(port, () => console.log(`listening on udp port ${socket.address().port}`));
