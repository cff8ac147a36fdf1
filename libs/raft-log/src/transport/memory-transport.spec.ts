import { describe, expect, it } from 'vitest';
import { InvariantViolation } from '../core/assert';
import type { RaftMessage } from '../core/types';
import { MemoryNetwork } from './memory-transport';
import { sampleMessages } from './test-messages';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('MemoryNetwork', () => {
  it('delivers copies on a later turn, and drops across a cut link until healed', async () => {
    const network = new MemoryNetwork();
    const n1 = network.connect('n1');
    const n2 = network.connect('n2');
    const received: RaftMessage[] = [];
    n2.onMessage((message) => received.push(message));
    const message = sampleMessages('n1', 'n2').installSnapshot;

    n1.send(message);
    expect(received).toEqual([]);
    await nextTurn();
    expect(received).toEqual([message]);
    expect(received[0]).not.toBe(message);

    network.cut('n1', 'n2');
    n1.send(message);
    await nextTurn();
    expect(received).toHaveLength(1);
    network.heal('n1', 'n2');
    n1.send(message);
    await nextTurn();
    expect(received).toHaveLength(2);
  });

  it('a closed transport neither sends nor receives; a forged sender is a programmer error', async () => {
    const network = new MemoryNetwork();
    const n1 = network.connect('n1');
    const n2 = network.connect('n2');
    const received: RaftMessage[] = [];
    n2.onMessage((message) => received.push(message));
    await n2.close();
    n1.send(sampleMessages('n1', 'n2').timeoutNow);
    await nextTurn();
    expect(received).toEqual([]);
    expect(() => n1.send(sampleMessages('n3', 'n2').timeoutNow)).toThrow(InvariantViolation);
  });
});
