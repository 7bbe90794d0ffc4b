// bench --parca's relay, run by QEMU for each guest connection to the Parca address
// (guestfwd=…-cmd:node parca-relay.js HOST PORT): the guest's bytes arrive on stdin and leave on
// stdout; this joins them to one TCP connection to the Parca server, and ends when either side does.
import { connect } from 'node:net';

const [host, portText] = process.argv.slice(2);
const port = Number(portText);
if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write('usage: parca-relay HOST PORT (run by QEMU for bench --parca)\n');
  process.exit(2);
}
const socket = connect({ host, port });
socket.on('error', (err) => {
  process.stderr.write(`parca-relay: ${host}:${port}: ${err.message}\n`);
  process.exit(1);
});
process.stdin.pipe(socket);
socket.pipe(process.stdout);
socket.on('close', () => process.exit(0));
process.stdin.on('end', () => socket.end());
