import { describe, expect, it } from 'vitest';
import { escapeXml, niceTicks, renderLineChart } from './svg.mjs';

describe('SVG line charts', () => {
  it('pick round ticks from at or below the lowest value to at or above the highest', () => {
    expect(niceTicks(0, 1000)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(niceTicks(0, 7)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(0, 1314.8)).toEqual([0, 500, 1000, 1500]);
    expect(niceTicks(3, 19.9)).toEqual([0, 5, 10, 15, 20]);
    expect(niceTicks(0, 0.3)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(niceTicks(5, 5)).toEqual([5]);
    expect(() => niceTicks(2, 1)).toThrow(/cannot make ticks/);
  });

  it('write a standalone document with one polyline per series, a legend and escaped text', () => {
    const svg = renderLineChart({
      title: 'tx/s <noop> & "2p"',
      xLabel: 'clients',
      yLabel: 'tx/s',
      xScale: 'log2',
      series: [
        {
          name: 'enlist',
          points: [
            [1, 100],
            [4, 300],
            [16, 500],
          ],
        },
        {
          name: 'at-begin',
          points: [
            [1, 120],
            [4, 350],
            [16, 600],
          ],
        },
      ],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('tx/s &lt;noop&gt; &amp; &quot;2p&quot;');
    expect(svg).toContain('>enlist</text>');
    // log2 axis: a tick at every doubling, labelled with the level itself.
    for (const label of ['>1<', '>2<', '>4<', '>8<', '>16<']) expect(svg).toContain(label);
  });

  it('map the largest value to the top tick and zero to the x axis', () => {
    const svg = renderLineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      width: 400,
      height: 300,
      series: [
        {
          name: 's',
          points: [
            [0, 0],
            [10, 100],
          ],
        },
      ],
    });
    // Plot area: top 36, height 300 - 36 - 48 = 216, so y = 0 sits at 252 and y = 100 at 36.
    expect(svg).toContain('points="64.0,252.0 210.0,36.0"');
  });

  it('break a line at a missing value and draw vertical markers', () => {
    const svg = renderLineChart({
      title: 't',
      xLabel: 's',
      yLabel: 'ms',
      series: [
        {
          name: 'p99',
          points: [
            [0, 1],
            [1, 2],
            [2, null],
            [3, 2],
            [4, 1],
          ],
        },
      ],
      markers: [{ x: 2, label: 'kill n1' }],
    });
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('stroke-dasharray');
    expect(svg).toContain('>kill n1</text>');
  });

  it('refuse a chart with no points, or zero on a log axis', () => {
    expect(() => renderLineChart({ title: 'empty', xLabel: '', yLabel: '', series: [] })).toThrow(
      /no points/,
    );
    expect(() =>
      renderLineChart({
        title: 'log',
        xLabel: '',
        yLabel: '',
        xScale: 'log2',
        series: [{ name: 's', points: [[0, 1]] }],
      }),
    ).toThrow(/log2/);
  });

  it('escape the five characters XML cares about, except the apostrophe which attributes here never use', () => {
    expect(escapeXml(`a<b>&"c"`)).toBe('a&lt;b&gt;&amp;&quot;c&quot;');
  });
});
