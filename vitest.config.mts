import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const fromRoot = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

const alias = {
  '@verdict/raft-log': fromRoot('./libs/raft-log/src/index.ts'),
  '@verdict/protocol': fromRoot('./libs/protocol/src/index.ts'),
  '@verdict/participant': fromRoot('./libs/participant/src/index.ts'),
};

// SWC compiles the tests so that decorators and emitDecoratorMetadata behave as in the build;
// Vitest itself needs ES modules, so only the module format differs from the build.
const plugins = [swc.vite({ configFile: fromRoot('./.swcrc'), module: { type: 'es6' } })];

export default defineConfig({
  plugins,
  resolve: { alias },
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'apps/**/*.spec.ts',
            'libs/**/*.spec.ts',
            'scripts/**/*.spec.ts',
            'test/unit/**/*.spec.ts',
          ],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'apps/**/*.int.test.ts', 'libs/**/*.int.test.ts'],
          environment: 'node',
          globalSetup: ['./test/setup/global-stack.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // The stack is one broker and one PostgreSQL on a 2-core machine: run files one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
