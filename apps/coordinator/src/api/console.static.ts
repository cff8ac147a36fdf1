import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

export const CONSOLE_PATH = '/console';

/**
 * The operator console is a handful of files Vite writes at `npm run build` (index.html and
 * hashed assets). They are served here with plain Fastify routes: @fastify/static is not
 * installed, and a fixed type table plus a path check is all a few files need.
 */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'application/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/**
 * Everything the page loads comes from this node: no CDN, no inline script. Styles may be inline
 * because uPlot and Preact set element styles; API calls go to the same origin.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const NOT_BUILT_HTML = `<!DOCTYPE html>
<html lang="en">
  <head><meta charset="utf-8"><title>Verdict console not built</title></head>
  <body style="font-family: sans-serif; max-width: 40rem; margin: 3rem auto">
    <h1>The operator console is not built</h1>
    <p>This coordinator found no console files. Run <code>npm run build</code> in the Verdict
    checkout (it writes <code>dist/console/</code>), then reload this page.</p>
    <p>The REST API (<code>/v1</code>) and its documentation (<code>/docs</code>) work without it.</p>
  </body>
</html>
`;

/**
 * Where the build puts the console: `dist/console`. This file runs from `dist/apps/coordinator/src/api`
 * after the build and from `apps/coordinator/src/api` in tests, so both relative places are tried.
 */
export function defaultConsoleDirectory(): string {
  const fromBuild = join(__dirname, '..', '..', '..', '..', 'console');
  const fromSource = join(__dirname, '..', '..', '..', '..', 'dist', 'console');
  return existsSync(join(fromBuild, 'index.html')) ? fromBuild : fromSource;
}

/**
 * Serves the console at `/console/` without an API key: the page holds no data; it asks for a key
 * and sends it with every API call. A missing build answers 404 with a page that says what to run,
 * and the coordinator starts regardless.
 */
export function serveConsole(fastify: FastifyInstance, directory: string): void {
  fastify.get(CONSOLE_PATH, (_request, reply) => reply.redirect(`${CONSOLE_PATH}/`, 302));
  fastify.get(`${CONSOLE_PATH}/`, (_request, reply) => sendFile(reply, directory, 'index.html'));
  fastify.get<{ Params: { '*': string } }>(`${CONSOLE_PATH}/*`, (request, reply) =>
    sendFile(reply, directory, request.params['*']),
  );
}

function sendFile(reply: FastifyReply, directory: string, relative: string): FastifyReply {
  const file = resolveInside(directory, relative);
  void reply
    .header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
    .header('X-Content-Type-Options', 'nosniff');
  if (!existsSync(join(directory, 'index.html'))) {
    return reply.code(404).type('text/html; charset=utf-8').send(NOT_BUILT_HTML);
  }
  const type = file === null ? undefined : CONTENT_TYPES[extname(file)];
  if (file === null || type === undefined || !isFile(file)) {
    return reply.code(404).type('text/plain; charset=utf-8').send(`no console file ${relative}\n`);
  }
  // Assets carry a content hash in their name, so they may be cached for good; index.html names
  // the current ones and must be fetched again after every build.
  const cache = relative.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
  return reply.type(type).header('Cache-Control', cache).send(readFileSync(file));
}

/** The file under `directory` that `relative` names, or null when it would leave the folder. */
export function resolveInside(directory: string, relative: string): string | null {
  if (relative === '' || relative.includes('\0')) return null;
  const root = normalize(directory + sep);
  const file = normalize(join(root, relative));
  return file.startsWith(root) ? file : null;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
