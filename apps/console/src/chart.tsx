import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

/** A small uPlot line chart over time; redrawn in place when the data changes. */
export function TimeChart(props: {
  title: string;
  label: string;
  times: number[];
  values: (number | null)[];
  color: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);

  useEffect(() => {
    const element = host.current;
    if (element === null) return undefined;
    chart.current = new uPlot(
      {
        title: props.title,
        width: 420,
        height: 180,
        scales: { x: { time: true }, y: { range: (_chart, _min, max) => [0, Math.max(1, max * 1.2)] } },
        series: [
          {},
          { label: props.label, stroke: props.color, fill: `${props.color}22`, width: 2, spanGaps: false },
        ],
        axes: [{}, { size: 50 }],
        legend: { show: false },
      },
      [props.times, props.values],
      element,
    );
    return (): void => {
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setData([props.times, props.values]);
  }, [props.times, props.values]);

  return <div class="chart" ref={host} />;
}
