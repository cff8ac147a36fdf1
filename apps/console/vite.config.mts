// The operator console: Preact + uPlot, built by `npm run build` (scripts/build.mjs) into
// dist/console, which every coordinator node serves at /console. `npx vite apps/console` runs a
// dev server that forwards /v1 to the coordinator named by VERDICT_URL.
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  // Preact's automatic JSX runtime through Vite's own transformer (Oxc): no framework plugin needed.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../../dist/console',
    emptyOutDir: true,
    target: 'es2022',
    // Served by the coordinator; nothing is fetched from elsewhere, so the page works offline.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  server: {
    proxy: { '/v1': process.env['VERDICT_URL'] ?? 'http://127.0.0.1:8081' },
  },
  logLevel: 'warn',
});
