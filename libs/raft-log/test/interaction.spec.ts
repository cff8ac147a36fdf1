// Runs every script in testdata/: each stanza is a command, `----`, and its expected trace.
// RAFT_REWRITE=1 regenerates the traces in place; review them as a diff.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InteractionEnv } from './interaction-env';

interface Stanza {
  readonly comments: readonly string[];
  readonly command: string;
  readonly expected: string;
}

const testdata = join(__dirname, 'testdata');
const rewrite = process.env['RAFT_REWRITE'] === '1';

function parse(text: string): Stanza[] {
  const lines = text.split('\n');
  const stanzas: Stanza[] = [];
  let comments: string[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index] ?? '';
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      comments.push(line);
      continue;
    }
    if (lines[index + 1] !== '----')
      throw new Error(`line ${index + 2}: expected ---- after command "${line}"`);
    const expected: string[] = [];
    index += 2;
    while (index < lines.length && (lines[index] ?? '') !== '') expected.push(lines[index++] ?? '');
    stanzas.push({ comments, command: line, expected: expected.join('\n') });
    comments = [];
  }
  return stanzas;
}

function format(stanzas: readonly Stanza[]): string {
  return (
    stanzas
      .map((stanza) => [...stanza.comments, stanza.command, '----', stanza.expected].join('\n'))
      .join('\n\n') + '\n'
  );
}

describe('raft interaction scripts', () => {
  for (const file of readdirSync(testdata).filter((name) => name.endsWith('.txt'))) {
    it(file.replace(/\.txt$/, ''), () => {
      const path = join(testdata, file);
      const stanzas = parse(readFileSync(path, 'utf8'));
      const env = new InteractionEnv();
      const actual = stanzas.map((stanza) => ({ ...stanza, expected: env.handle(stanza.command) }));
      if (rewrite) {
        writeFileSync(path, format(actual));
        return;
      }
      for (const [position, stanza] of stanzas.entries()) {
        expect(actual[position]?.expected, `${file}: ${stanza.command}`).toBe(stanza.expected);
      }
    });
  }
});
