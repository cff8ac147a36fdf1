import { describe, expect, it } from 'vitest';
import { listeningInodes, parseProcStat } from './cpu.mjs';
import { metricValue, parsePrometheus } from './prometheus.mjs';

const EXPOSITION = `# HELP verdict_raft_commit_index Highest Raft log index known committed.
# TYPE verdict_raft_commit_index gauge
verdict_raft_commit_index{node_id="n1"} 1234
verdict_transactions_total{outcome="commit",node_id="n1"} 10
verdict_transactions_total{outcome="abort",node_id="n1"} 2
process_cpu_seconds_total 1.5e+1
verdict_http_request_duration_seconds_bucket{le="+Inf",route="/v1/transactions/:txId",method="POST",status_code="200",node_id="n1"} 7
odd_label{text="a \\"quoted\\" word"} 1 1700000000000
`;

describe('Prometheus exposition', () => {
  it('reads samples with their labels, sums matching ones, and says when none exist', () => {
    const samples = parsePrometheus(EXPOSITION);
    expect(metricValue(samples, 'verdict_raft_commit_index')).toBe(1234);
    expect(metricValue(samples, 'verdict_transactions_total')).toBe(12);
    expect(metricValue(samples, 'verdict_transactions_total', { outcome: 'abort' })).toBe(2);
    expect(metricValue(samples, 'process_cpu_seconds_total')).toBe(15);
    expect(metricValue(samples, 'verdict_http_request_duration_seconds_bucket', { le: '+Inf' })).toBe(7);
    expect(samples.find((sample) => sample.name === 'odd_label')?.labels).toEqual({
      text: 'a "quoted" word',
    });
    expect(metricValue(samples, 'verdict_fsyncs_total')).toBeNull();
  });

  it('refuses a line that is not a sample', () => {
    expect(() => parsePrometheus('this is not { a metric')).toThrow(/not a Prometheus sample line/);
  });
});

describe('/proc readings', () => {
  it('take CPU ticks after the command name, whatever it holds', () => {
    const stat =
      '4242 (node (worker) x) S 4200 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 11 0 1000 0 0';
    expect(parseProcStat(stat)).toEqual({ ppid: 4200, ownTicks: 300, reapedChildrenTicks: 10 });
  });

  it('find the sockets listening on a port, IPv4 and IPv6, and not the connected ones', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:2382 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0',
      '   1: 0100007F:2382 0100007F:D0A2 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0 20 4 30 10 -1',
      '   2: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0 100 0 0 10 0',
    ].join('\n');
    const tcp6 = [
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000000000000000000000000000:2382 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 444 1 0 100 0 0 10 0',
    ].join('\n');
    expect([...listeningInodes([tcp, tcp6], 0x2382)]).toEqual(['111', '444']);
    expect([...listeningInodes([tcp], 5432)]).toEqual([]);
  });
});
