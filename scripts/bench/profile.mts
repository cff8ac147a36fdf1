// Where a coordinator's CPU went: the functions with the most self time in a V8 .cpuprofile
// (what `node --cpu-prof` writes). Pure (scripts/bench/profile.spec.ts).

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly hitCount?: number;
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface HotFunction {
  /** `name (file:line)`, the file relative to the repository or node_modules. */
  readonly where: string;
  /** Share of all samples, idle and GC included. */
  readonly share: number;
}

/** Shortens a script URL to what a reader recognises: the package or the repository path. */
function shortUrl(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  return url.replace(/^file:\/\//, '');
}

/** The `count` functions with the most self samples, merged by name and place. */
export function hottestFunctions(profile: CpuProfile, count: number): HotFunction[] {
  const hits = new Map<number, number>();
  if (profile.samples !== undefined && profile.samples.length > 0) {
    for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  } else {
    for (const node of profile.nodes) hits.set(node.id, node.hitCount ?? 0);
  }
  const total = [...hits.values()].reduce((sum, value) => sum + value, 0);
  if (total === 0) return [];
  const byPlace = new Map<string, number>();
  for (const node of profile.nodes) {
    const frame = node.callFrame;
    const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
    const where = frame.url === '' ? name : `${name} (${shortUrl(frame.url)}:${frame.lineNumber + 1})`;
    byPlace.set(where, (byPlace.get(where) ?? 0) + (hits.get(node.id) ?? 0));
  }
  return [...byPlace]
    .sort((left, right) => right[1] - left[1])
    .slice(0, count)
    .map(([where, samples]) => ({ where, share: samples / total }));
}
