// A naive node:dgram echo server, as a tutorial writes one: bound to the wildcard address, it
// replies with whatever arrived, from whichever address the kernel picks for the reply.
import dgram from 'node:dgram';

// An optional second argument 'udp6' makes it a dual-stack socket on :: (IPv4 clients too).
const port = Number(process.argv[2] ?? 7);
const socket = dgram.createSocket(process.argv[3] === 'udp6' ? 'udp6' : 'udp4');
socket.on('message', (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address));
socket.bind(port, () => console.log(`listening on udp port ${socket.address().port}`));
