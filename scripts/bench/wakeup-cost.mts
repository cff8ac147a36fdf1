// What one message between two processes costs this machine in CPU, back to back and spaced out.
// A client process and an echo server (a child process) exchange 200-byte messages over loopback
// TCP, either as fast as they can or one every 1000/rate ms; each side's CPU time per round trip
// is read from the kernel. Spaced out, both sides sleep between messages, so every message wakes
// a process from idle: on a virtual machine whose idle CPUs halt, that wakeup is what costs.
//   npm run bench:wakeup [-- <seconds per level, default 4>]
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { ownCpuSeconds, treeCpuSeconds } from './cpu.mjs';

const MESSAGE = Buffer.alloc(200, 1);
/** 0: back to back. */
const RATES_PER_SECOND = [0, 200, 1_000];

/** The echo server's CPU seconds; it has no children, so its tree is itself. */
function serverCpuSeconds(pid: number): number {
  const seconds = treeCpuSeconds(pid);
  if (seconds === null) throw new Error(`process ${pid} ended during the measurement`);
  return seconds;
}

function serve(): void {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => socket.write(chunk));
  });
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
}

async function level(
  port: number,
  serverPid: number,
  ratePerSecond: number,
  seconds: number,
): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await once(socket, 'connect');
  const clientBefore = ownCpuSeconds();
  const serverBefore = serverCpuSeconds(serverPid);
  const startedAt = performance.now();
  let roundTrips = 0;
  await new Promise<void>((resolve) => {
    // One message in flight: an answer is whole when it arrives (200 bytes fit one segment).
    socket.on('data', () => {
      roundTrips += 1;
      if (performance.now() - startedAt > seconds * 1000) resolve();
      else if (ratePerSecond === 0) socket.write(MESSAGE);
      else setTimeout(() => socket.write(MESSAGE), 1000 / ratePerSecond);
    });
    socket.write(MESSAGE);
  });
  const elapsed = (performance.now() - startedAt) / 1000;
  const client = ((ownCpuSeconds() - clientBefore) / roundTrips) * 1e6;
  const server = ((serverCpuSeconds(serverPid) - serverBefore) / roundTrips) * 1e6;
  socket.destroy();
  const label = ratePerSecond === 0 ? 'back to back' : `one every ${(1000 / ratePerSecond).toFixed(0)} ms`;
  return (
    `wakeup: ${label.padEnd(16)} ${Math.round(roundTrips / elapsed)} round trips/s, CPU per round trip: ` +
    `client ${client.toFixed(0)} µs, echo server ${server.toFixed(0)} µs, together ${(client + server).toFixed(0)} µs`
  );
}

async function main(argv: readonly string[]): Promise<void> {
  const seconds = Number(argv[0] ?? 4);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 60) {
    throw new Error(`seconds per level: a number from 1 to 60, got ${argv[0]}`);
  }
  const server = fork(new URL(import.meta.url).pathname, ['--serve'], { execArgv: process.execArgv });
  try {
    const [port] = (await once(server, 'message')) as [number];
    if (server.pid === undefined) throw new Error('the echo server did not start');
    console.log(`wakeup: ${cpus().length} CPUs, Node ${process.version}, ${seconds} s per level`);
    for (const rate of RATES_PER_SECOND) console.log(await level(port, server.pid, rate, seconds));
  } finally {
    server.kill();
  }
}

if (process.argv.includes('--serve')) serve();
else await main(process.argv.slice(2));
