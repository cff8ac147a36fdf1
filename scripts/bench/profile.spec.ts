import { describe, expect, it } from 'vitest';
import { hottestFunctions, type CpuProfile } from './profile.mjs';

const frame = (functionName: string, url: string, lineNumber: number) => ({ functionName, url, lineNumber });

describe('the hottest functions of a .cpuprofile', () => {
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', '', -1) },
      { id: 2, callFrame: frame('(idle)', '', -1) },
      {
        id: 3,
        callFrame: frame('encode', 'file:///work/main/dist/apps/coordinator/src/engine/entries.js', 41),
      },
      { id: 4, callFrame: frame('', 'file:///work/main/node_modules/kafkajs/src/producer/index.js', 9) },
      // The same function reached through another call path: merged with id 3.
      {
        id: 5,
        callFrame: frame('encode', 'file:///work/main/dist/apps/coordinator/src/engine/entries.js', 41),
      },
    ],
    samples: [2, 2, 2, 2, 3, 3, 5, 4, 4, 1],
  };

  it('rank functions by self samples, merged by place, with short file names', () => {
    expect(hottestFunctions(profile, 3)).toEqual([
      { where: '(idle)', share: 0.4 },
      { where: 'encode (apps/coordinator/src/engine/entries.js:42)', share: 0.3 },
      { where: '(anonymous) (kafkajs/src/producer/index.js:10)', share: 0.2 },
    ]);
  });

  it('fall back to hit counts when the profile has no sample list, and return nothing for no samples', () => {
    const counted: CpuProfile = { nodes: [{ id: 1, callFrame: frame('work', '', 0), hitCount: 5 }] };
    expect(hottestFunctions(counted, 5)).toEqual([{ where: 'work', share: 1 }]);
    expect(hottestFunctions({ nodes: [{ id: 1, callFrame: frame('idle', '', 0) }] }, 5)).toEqual([]);
  });
});
