// A no-op branch for the DTM baseline (scripts/bench/dtm.mts): an HTTP service whose every saga
// action and compensation succeeds at once, the counterpart of noop-participant.mts. Started as
//   node scripts/bench/dtm-branch.mts <port>
// and prints one line, `ready`, once it listens on 127.0.0.1:<port>; SIGTERM stops it.
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

/** What DTM reads as a branch that succeeded (anything without FAILURE or ONGOING in a 200). */
const SUCCESS = JSON.stringify({ dtm_result: 'SUCCESS' });

async function main(argv: readonly string[]): Promise<void> {
  const port = Number(argv[0]);
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
    console.error('usage: dtm-branch.mts <port>');
    process.exit(2);
  }
  const server = createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
    // The body (the saga's payload) is read and dropped: nothing is done with it.
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': SUCCESS.length });
      response.end(SUCCESS);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1' }, resolve);
  });
  console.log('ready');
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      server.close(() => process.exit(0));
      server.closeAllConnections();
    });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
