// Brings bench/http-adapter.mts into the TypeScript program (tsconfig includes bench/**/*.ts, not
// .mts), so `npm run typecheck` and ESLint check the benchmark like every other source file.
export type { AdapterName } from './http-adapter.mjs';
