// A small SVG line-chart writer for the benchmark report: no chart library runs in Node here
// (uPlot needs a browser), and a report of a few fixed charts needs only axes, lines, a legend and
// vertical markers. Pure: a chart in, the SVG text out (scripts/bench/svg.spec.ts).

export interface Series {
  readonly name: string;
  /** [x, y] in data units; a null y is a gap in the line. */
  readonly points: readonly (readonly [number, number | null])[];
}

export interface Marker {
  readonly x: number;
  readonly label: string;
}

export interface LineChart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** 'log2' for concurrency levels (1, 4, 16, 64): evenly spaced doublings. */
  readonly xScale?: 'linear' | 'log2';
  readonly markers?: readonly Marker[];
  readonly width?: number;
  readonly height?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf'];
const MARGIN = { top: 36, right: 190, bottom: 48, left: 64 };

/**
 * Round tick positions from at or below `low` to at or above `high`: steps of 1, 2 or 5 times a
 * power of ten, so the top tick can serve as the axis maximum and every value fits.
 */
export function niceTicks(low: number, high: number, count = 5): number[] {
  if (!Number.isFinite(low) || !Number.isFinite(high) || high < low) {
    throw new Error(`cannot make ticks for [${low}, ${high}]`);
  }
  if (high === low) return [low];
  const rough = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= rough) ?? rough;
  const first = Math.floor(low / step + 1e-9);
  const last = Math.ceil(high / step - 1e-9);
  // Rounded to the step's precision, so 0.1 + 0.2 prints as 0.3.
  return Array.from({ length: last - first + 1 }, (_, index) =>
    Number(((first + index) * step).toPrecision(12)),
  );
}

export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

function formatTick(value: number): string {
  if (Math.abs(value) >= 10_000) return `${Number((value / 1000).toPrecision(3))}k`;
  return String(Number(value.toPrecision(4)));
}

/** The whole chart as a standalone SVG document. */
export function renderLineChart(chart: LineChart): string {
  const width = chart.width ?? 720;
  const height = chart.height ?? 360;
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  const logX = chart.xScale === 'log2';
  const xs = [
    ...chart.series.flatMap((series) => series.points.map(([x]) => x)),
    ...(chart.markers ?? []).map((marker) => marker.x),
  ];
  const ys = chart.series.flatMap((series) =>
    series.points.flatMap(([, y]) => (y === null || !Number.isFinite(y) ? [] : [y])),
  );
  if (xs.length === 0) throw new Error(`chart "${chart.title}" has no points`);
  if (logX && xs.some((x) => x <= 0)) throw new Error(`chart "${chart.title}": log2 x needs x > 0`);
  const toX = (x: number): number => (logX ? Math.log2(x) : x);
  const dataLow = Math.min(...xs.map(toX));
  const dataHigh = Math.max(...xs.map(toX));
  // log2: a tick at every doubling within the data; linear: round ticks, which widen the axis.
  const xTicks = logX
    ? Array.from(
        { length: Math.floor(dataHigh) - Math.ceil(dataLow) + 1 },
        (_, index) => Math.ceil(dataLow) + index,
      )
    : niceTicks(dataLow, dataHigh);
  const xLow = logX ? dataLow : Math.min(dataLow, ...xTicks);
  const xHigh = logX ? dataHigh : Math.max(dataHigh, ...xTicks);
  const yTicks = niceTicks(0, Math.max(...ys, 0) === 0 ? 1 : Math.max(...ys));
  const yHigh = yTicks[yTicks.length - 1] ?? 1;
  const span = xHigh - xLow || 1;
  const px = (x: number): number => MARGIN.left + ((toX(x) - xLow) / span) * plotWidth;
  const pxTick = (tick: number): number => MARGIN.left + ((tick - xLow) / span) * plotWidth;
  const py = (y: number): number => MARGIN.top + plotHeight - (y / yHigh) * plotHeight;
  const round = (value: number): string => value.toFixed(1);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  for (const tick of yTicks) {
    const y = round(py(tick));
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatTick(tick)}</text>`,
    );
  }
  for (const tick of xTicks) {
    const x = round(pxTick(tick));
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${MARGIN.top + plotHeight}" y2="${MARGIN.top + plotHeight + 4}" stroke="black"/>`,
      `<text x="${x}" y="${MARGIN.top + plotHeight + 18}" text-anchor="middle">${formatTick(logX ? 2 ** tick : tick)}</text>`,
    );
  }
  parts.push(
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${MARGIN.top + plotHeight}" y2="${MARGIN.top + plotHeight}" stroke="black"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + plotHeight}" stroke="black"/>`,
    `<text x="${MARGIN.left + plotWidth / 2}" y="${height - 10}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`,
    `<text x="16" y="${MARGIN.top + plotHeight / 2}" text-anchor="middle" transform="rotate(-90 16 ${MARGIN.top + plotHeight / 2})">${escapeXml(chart.yLabel)}</text>`,
  );
  for (const marker of chart.markers ?? []) {
    const x = round(px(marker.x));
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${MARGIN.top + plotHeight}" stroke="#888" stroke-dasharray="4 3"/>`,
      `<text x="${x}" y="${MARGIN.top - 4}" text-anchor="middle" font-size="10" fill="#444">${escapeXml(marker.label)}</text>`,
    );
  }
  for (const [index, series] of chart.series.entries()) {
    const color = COLORS[index % COLORS.length] ?? 'black';
    // A null y ends one polyline and the next point starts another.
    const runs: string[][] = [[]];
    for (const [x, y] of series.points) {
      if (y === null || !Number.isFinite(y)) runs.push([]);
      else runs[runs.length - 1]?.push(`${round(px(x))},${round(py(y))}`);
    }
    for (const run of runs) {
      if (run.length > 1) {
        parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${run.join(' ')}"/>`);
      }
      if (run.length <= 12) {
        for (const point of run) {
          const [cx, cy] = point.split(',');
          parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`);
        }
      }
    }
    const legendY = MARGIN.top + 10 + index * 18;
    const legendX = MARGIN.left + plotWidth + 12;
    parts.push(
      `<line x1="${legendX}" x2="${legendX + 18}" y1="${legendY}" y2="${legendY}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${legendX + 24}" y="${legendY}" dominant-baseline="middle">${escapeXml(series.name)}</text>`,
    );
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
