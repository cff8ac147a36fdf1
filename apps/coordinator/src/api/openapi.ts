import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { buildAsyncApiDocument, PROTOCOL_VERSION } from '@verdict/protocol';
import type { FastifyInstance } from 'fastify';
import { PROBLEM_KINDS, problemType, type ProblemCode } from './problem';

export const OPENAPI_PATH = '/openapi.json';
/** The Kafka side of the contract (libs/protocol), served beside the REST side and, like it, without a key. */
export const ASYNCAPI_PATH = '/asyncapi.json';
export const DOCS_PATH = '/docs';

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const problemTypes = (Object.keys(PROBLEM_KINDS) as ProblemCode[])
    .map(
      (code) =>
        `| \`${code}\` | ${PROBLEM_KINDS[code].status} | \`${problemType(code)}\` | ${PROBLEM_KINDS[code].title} |`,
    )
    .join('\n');
  const config = new DocumentBuilder()
    .setTitle('Verdict coordinator')
    .setVersion(`v1 (wire protocol v${PROTOCOL_VERSION})`)
    .setDescription(
      [
        'Two-phase-commit transaction coordinator replicated with Raft.',
        '',
        'Authenticate with `Authorization: Bearer <api key>`. Keys have the role `service` or `operator` (an operator key may do everything a service key may); admin and cluster-changing routes need `operator`.',
        '',
        'Followers forward leader-bound requests to the leader; the answer carries `Verdict-Served-By`.',
        '',
        'Errors are RFC 9457 problem details (`application/problem+json`) with a stable `code`; every 503 carries `Retry-After`.',
        '',
        '### Problem types',
        '',
        '| code | status | type | title |',
        '| --- | --- | --- | --- |',
        problemTypes,
      ].join('\n'),
    )
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API key from VERDICT_API_KEYS' })
    .build();
  return SwaggerModule.createDocument(app, config);
}

/**
 * `/openapi.json` through SwaggerModule, `/asyncapi.json` (built once: it depends on nothing at
 * run time), and the Swagger UI at `/docs` served here from the
 * swagger-ui-dist files that @nestjs/swagger ships. SwaggerModule's own UI on Fastify needs
 * @fastify/static, which is not installed (and it exits the process when it is missing); the
 * UI must also work without internet access, so nothing is loaded from a CDN.
 */
export function serveOpenApi(app: INestApplication, fastify: FastifyInstance, document: OpenAPIObject): void {
  SwaggerModule.setup(DOCS_PATH, app, document, { ui: false, raw: ['json'], jsonDocumentUrl: OPENAPI_PATH });
  const asyncApi = JSON.stringify(buildAsyncApiDocument());
  fastify.get(ASYNCAPI_PATH, (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(asyncApi),
  );
  const assets = swaggerUiAssets();
  for (const path of [DOCS_PATH, `${DOCS_PATH}/`]) {
    fastify.get(path, (_request, reply) => reply.type('text/html; charset=utf-8').send(DOCS_HTML));
  }
  fastify.get(`${DOCS_PATH}/swagger-initializer.js`, (_request, reply) =>
    reply.type('application/javascript; charset=utf-8').send(DOCS_INITIALIZER),
  );
  for (const [name, type] of Object.entries(SWAGGER_UI_FILES)) {
    fastify.get(`${DOCS_PATH}/${name}`, (_request, reply) =>
      reply.type(type).header('Cache-Control', 'public, max-age=86400').send(assets.read(name)),
    );
  }
}

/** The only files served from swagger-ui-dist: a fixed list, so no path reaches the disk. */
const SWAGGER_UI_FILES: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'index.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const DOCS_HTML = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Verdict coordinator API</title>
    <link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css">
    <link rel="stylesheet" href="${DOCS_PATH}/index.css">
    <link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-32x32.png">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
    <script src="${DOCS_PATH}/swagger-ui-standalone-preset.js"></script>
    <script src="${DOCS_PATH}/swagger-initializer.js"></script>
  </body>
</html>
`;

const DOCS_INITIALIZER = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(OPENAPI_PATH)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  });
};
`;

function swaggerUiAssets(): { read(name: string): Buffer } {
  // Resolved from @nestjs/swagger, whose dependency it is, wherever npm placed it.
  const directory = dirname(
    createRequire(require.resolve('@nestjs/swagger')).resolve('swagger-ui-dist/package.json'),
  );
  const cache = new Map<string, Buffer>();
  return {
    read(name: string): Buffer {
      const cached = cache.get(name);
      if (cached !== undefined) return cached;
      const content = readFileSync(join(directory, name));
      cache.set(name, content);
      return content;
    },
  };
}
