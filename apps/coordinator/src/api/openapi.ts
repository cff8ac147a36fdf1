import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import {
  DocumentBuilder,
  SwaggerModule,
  type OpenAPIObject,
  type MediaTypeObject,
  type OperationObject,
  type ReferenceObject,
  type SchemaObject,
} from '@nestjs/swagger';
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
  const document = SwaggerModule.createDocument(app, config);
  rejectUnknownFields(document);
  addTransactionLinks(document);
  return document;
}

/**
 * The validation pipe refuses fields a request DTO does not declare (validation.ts), so every
 * schema a request body reaches through `$ref` says `additionalProperties: false`. Inline schemas
 * (`payload`, `metadata`) keep what they declare: they are free-form by design.
 */
function rejectUnknownFields(document: OpenAPIObject): void {
  const schemas = document.components?.schemas ?? {};
  const closed = new Set<string>();
  const visit = (schema: SchemaObject | ReferenceObject | undefined): void => {
    if (schema === undefined) return;
    if ('$ref' in schema) {
      const name = schema.$ref.slice(schema.$ref.lastIndexOf('/') + 1);
      const target = schemas[name];
      if (target === undefined || '$ref' in target || closed.has(name)) return;
      closed.add(name);
      target.additionalProperties = false;
      for (const property of Object.values(target.properties ?? {})) visit(property);
      return;
    }
    visit(schema.items);
    for (const part of [...(schema.allOf ?? []), ...(schema.anyOf ?? []), ...(schema.oneOf ?? [])])
      visit(part);
  };
  for (const operation of operations(document)) {
    const body = operation.requestBody;
    if (body === undefined || '$ref' in body) continue;
    for (const media of Object.values<MediaTypeObject>(body.content)) visit(media.schema);
  }
}

const TRANSACTION_ID = '$response.body#/id';

/**
 * OpenAPI links from each transaction-returning response to what a client does next with that
 * transaction (begin → enlist → commit or abort → read), so that a client generator or a stateful
 * fuzzer (schemathesis, `npm run fuzz:rest`) can follow a transaction through its life.
 */
interface Route {
  readonly name: string;
  readonly method: 'get' | 'post';
  readonly path: string;
  /** What the link does, before "the transaction this response describes". */
  readonly action: string;
}
const ENLIST: Route = {
  name: 'Enlist',
  method: 'post',
  path: '/v1/transactions/{txId}/participants',
  action: 'Enlist another participant in',
};
const COMMIT: Route = {
  name: 'Commit',
  method: 'post',
  path: '/v1/transactions/{txId}/commit',
  action: 'Commit',
};
const ABORT: Route = {
  name: 'Abort',
  method: 'post',
  path: '/v1/transactions/{txId}/abort',
  action: 'Abort',
};
const READ: Route = { name: 'Read', method: 'get', path: '/v1/transactions/{txId}', action: 'Read' };
const OUTCOME: Route = {
  name: 'Outcome',
  method: 'get',
  path: '/v1/transactions/{txId}/outcome',
  action: 'Ask for the outcome of',
};
const RETRY: Route = {
  name: 'Retry',
  method: 'post',
  path: '/v1/admin/transactions/{txId}/retry',
  action: 'Re-send the pending phase of',
};
const RESOLVE: Route = {
  name: 'Resolve',
  method: 'post',
  path: '/v1/admin/transactions/{txId}/resolve',
  action: 'Record a decision by hand for',
};
const BEGIN: Route = { name: 'Begin', method: 'post', path: '/v1/transactions', action: 'Begin' };

/**
 * OpenAPI links from each transaction-returning response to what a client does next with that
 * transaction (begin → enlist → commit or abort → read), so that a client generator or a stateful
 * fuzzer (schemathesis, `npm run fuzz:rest`) can follow a transaction through its life.
 */
const TRANSACTION_LINKS: readonly { readonly from: Route; readonly status: string; readonly to: Route[] }[] =
  [
    { from: BEGIN, status: '201', to: [ENLIST, COMMIT, ABORT, READ, OUTCOME] },
    { from: ENLIST, status: '201', to: [ENLIST, COMMIT, ABORT, READ] },
    { from: COMMIT, status: '200', to: [READ, OUTCOME, ABORT, RETRY, RESOLVE] },
    { from: ABORT, status: '200', to: [READ, OUTCOME, COMMIT] },
    { from: READ, status: '200', to: [ENLIST, COMMIT, ABORT, OUTCOME] },
    { from: RETRY, status: '200', to: [READ] },
    { from: RESOLVE, status: '200', to: [READ] },
  ];

function addTransactionLinks(document: OpenAPIObject): void {
  const operation = (route: Route): OperationObject & { operationId: string } => {
    const found = document.paths[route.path]?.[route.method];
    if (found?.operationId === undefined) {
      throw new Error(`OpenAPI links: no ${route.method.toUpperCase()} ${route.path} with an operationId`);
    }
    return { ...found, operationId: found.operationId };
  };
  for (const { from, status, to } of TRANSACTION_LINKS) {
    const response = operation(from).responses[status];
    if (response === undefined || '$ref' in response) {
      throw new Error(`OpenAPI links: ${from.method.toUpperCase()} ${from.path} documents no ${status}`);
    }
    response.links = Object.fromEntries(
      to.map((target) => [
        target.name,
        {
          operationId: operation(target).operationId,
          parameters: { txId: TRANSACTION_ID },
          description: `${target.action} the transaction this response describes.`,
        },
      ]),
    );
  }
}

function operations(document: OpenAPIObject): OperationObject[] {
  return Object.values(document.paths).flatMap((item) =>
    (['get', 'put', 'post', 'delete', 'patch'] as const).flatMap((method) => item[method] ?? []),
  );
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
