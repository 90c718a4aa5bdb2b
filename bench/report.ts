// Writers for the benchmark's reports: Markdown tables and SVG line charts, as strings. Pure
// functions with no dependencies; the SVG is self-contained (no scripts, no external fonts), so
// it renders alike in a browser and on GitHub.

/** A cell's text as a GitHub-flavoured Markdown table cell: `|` escaped, line breaks as `<br>`. */
function markdownCell(text: string): string {
  return text.replaceAll('|', '\\|').replace(/\r?\n/g, '<br>');
}

/**
 * A GitHub-flavoured Markdown table. Cells are escaped for `|` (and line breaks become `<br>`).
 * Columns are padded to a common width, as prettier formats tables; a row shorter than `head` is
 * padded with empty cells, and cells beyond `head`'s length are dropped (GitHub would not show
 * them either).
 */
export function markdownTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const cells = [head, ...rows].map((row) =>
    head.map((_, column) => markdownCell(row[column] ?? '')),
  );
  const widths = head.map((_, column) =>
    Math.max(3, ...cells.map((row) => [...row[column]!].length)),
  );
  const line = (row: readonly string[]) =>
    `| ${row.map((cell, column) => cell + ' '.repeat(widths[column]! - [...cell].length)).join(' | ')} |`;
  const [headCells, ...bodyRows] = cells;
  return [
    line(headCells!),
    line(widths.map((width) => '-'.repeat(width))),
    ...bodyRows.map(line),
    '',
  ].join('\n');
}

/** One line on a chart: its name in the legend and its points (drawn in order of x). */
export interface ChartSeries {
  readonly name: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

/** What {@link lineChartSvg} draws. */
export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly ChartSeries[];
  /**
   * A log2 x axis, ticked at the data's x values (concurrency 1, 8, 32, 64 reads best so); points
   * with x ≤ 0 are skipped. Otherwise a linear axis with nice ticks.
   */
  readonly logX?: boolean;
  /** Pixels; 640 by default. */
  readonly width?: number;
  /** Pixels; 360 by default. */
  readonly height?: number;
}

/** The Okabe–Ito palette (colour-blind safe), its yellow last as it is faint on white. */
const PALETTE = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#D55E00',
  '#CC79A7',
  '#56B4E9',
  '#000000',
  '#F0E442',
] as const;
/** Marker shapes, varied with the colour so that series stay apart past the palette's length. */
const MARKERS = ['circle', 'square', 'triangle', 'diamond'] as const;
type Marker = (typeof MARKERS)[number];

const FONT_SIZE = 12;
const TITLE_SIZE = 15;
const LEGEND_ROW = 18;
/** A rough width of a sans-serif character, for layout (SVG text cannot be measured here). */
const CHAR_WIDTH = 0.6 * FONT_SIZE;
const AXIS_COLOUR = '#333333';
const GRID_COLOUR = '#e3e3e3';

/** Text for an XML text node or attribute value. */
function xml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

/** A coordinate with at most two decimals, as the SVG's numbers. */
const px = (n: number) => String(Math.round(n * 100) / 100);

/** A data value for a tooltip: six significant figures at most. */
const datum = (n: number) => String(Number(n.toPrecision(6)));

const textWidth = (text: string) => [...text].length * CHAR_WIDTH;

/** The smallest 1, 2 or 5 × 10^n at least `raw` (raw > 0). */
function niceStep(raw: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].find((m) => m * magnitude >= raw * (1 - 1e-9)) ?? 10;
  return step * magnitude;
}

/** Ticks at a nice step covering [min, max], about `count` of them. */
function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) {
    const pad = min === 0 ? 1 : Math.abs(min) / 2;
    return niceTicks(min - pad, max + pad, count);
  }
  const step = niceStep((max - min) / count);
  const first = Math.floor(min / step + 1e-9);
  const last = Math.ceil(max / step - 1e-9);
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/** Labels for evenly stepped ticks: in thousands (k) or millions (M) when large. */
function tickLabels(ticks: readonly number[]): string[] {
  const largest = Math.max(...ticks.map(Math.abs));
  const [unit, suffix] = largest >= 1e7 ? [1e6, 'M'] : largest >= 1e4 ? [1e3, 'k'] : [1, ''];
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) / unit : 1;
  const decimals = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
  return ticks.map((tick) => {
    const label = (tick / unit).toFixed(decimals);
    return Number(label) === 0 ? '0' : `${label}${suffix}`;
  });
}

/** A label for one of the data's own x values (a log axis' ticks). */
function valueLabel(value: number): string {
  if (Math.abs(value) >= 1e4) return tickLabels([0, value])[1]!;
  return datum(value);
}

/** A point marker centred on (x, y). */
function marker(shape: Marker, x: number, y: number, colour: string): string {
  const r = 3.5;
  const fill = `fill="${colour}"`;
  switch (shape) {
    case 'circle':
      return `<circle cx="${px(x)}" cy="${px(y)}" r="${r}" ${fill}/>`;
    case 'square':
      return `<rect x="${px(x - r)}" y="${px(y - r)}" width="${2 * r}" height="${2 * r}" ${fill}/>`;
    case 'triangle':
      return `<path d="M${px(x)} ${px(y - r * 1.2)}L${px(x + r * 1.15)} ${px(y + r * 0.8)}L${px(x - r * 1.15)} ${px(y + r * 0.8)}Z" ${fill}/>`;
    case 'diamond':
      return `<path d="M${px(x)} ${px(y - r * 1.3)}L${px(x + r * 1.3)} ${px(y)}L${px(x)} ${px(y + r * 1.3)}L${px(x - r * 1.3)} ${px(y)}Z" ${fill}/>`;
  }
}

/** Series `index`'s colour and marker. */
function styleOf(index: number): { colour: string; shape: Marker } {
  return {
    colour: PALETTE[index % PALETTE.length]!,
    shape: MARKERS[Math.floor(index / PALETTE.length) % MARKERS.length]!,
  };
}

/** A series' points that can be drawn (finite, x > 0 on a log axis), in order of x. */
function drawable(series: ChartSeries, logX: boolean): { x: number; y: number }[] {
  return series.points
    .filter(
      (p) =>
        p !== undefined &&
        p !== null &&
        Number.isFinite(p.x) &&
        Number.isFinite(p.y) &&
        (!logX || p.x > 0),
    )
    .map((p) => ({ x: p.x, y: p.y }))
    .sort((a, b) => a.x - b.x);
}

/** Legend entries laid out in rows within `maxWidth`, from (0, 0): their offsets and the rows. */
function legendLayout(names: readonly string[], maxWidth: number) {
  const entryWidth = (name: string) => 28 + textWidth(name) + 16;
  const offsets: { x: number; row: number }[] = [];
  let x = 0;
  let row = 0;
  for (const name of names) {
    const width = entryWidth(name);
    if (x > 0 && x + width > maxWidth) {
      x = 0;
      row++;
    }
    offsets.push({ x, row });
    x += width;
  }
  return { offsets, rows: names.length === 0 ? 0 : row + 1 };
}

/** The x axis' mapping and ticks: log2 at the data's values, or linear at nice steps. */
function xAxis(xs: readonly number[], logX: boolean) {
  if (logX) {
    const values = [...new Set(xs)].sort((a, b) => a - b);
    const logs = values.map(Math.log2);
    let lo = logs[0] ?? 0;
    let hi = logs[logs.length - 1] ?? 1;
    if (hi === lo) {
      lo -= 1;
      hi += 1;
    }
    const pad = (hi - lo) * 0.04;
    return {
      ticks: values.length > 0 ? values : [1, 2],
      labels: (values.length > 0 ? values : [1, 2]).map(valueLabel),
      fraction: (x: number) => (Math.log2(x) - (lo - pad)) / (hi - lo + 2 * pad),
    };
  }
  const ticks = xs.length > 0 ? niceTicks(Math.min(...xs), Math.max(...xs)) : niceTicks(0, 1, 5);
  const lo = ticks[0]!;
  const hi = ticks[ticks.length - 1]!;
  return { ticks, labels: tickLabels(ticks), fraction: (x: number) => (x - lo) / (hi - lo) };
}

/** The y axis' ticks: nice steps from 0 (or below, for negative data) to past the largest y. */
function yTicks(ys: readonly number[]): number[] {
  const min = Math.min(0, ...ys);
  const max = Math.max(0, ...ys);
  return niceTicks(min, max > min ? max : min + 1, 5);
}

/** A chart's SVG elements, drawn in a `width` × `height` box at the origin. */
function chartBody(options: LineChartOptions, width: number, height: number): string {
  const logX = options.logX === true;
  const series = options.series.map((s, index) => ({
    name: s.name,
    points: drawable(s, logX),
    ...styleOf(index),
  }));
  const all = series.flatMap((s) => s.points);
  const x = xAxis(
    all.map((p) => p.x),
    logX,
  );
  const yTickValues = yTicks(all.map((p) => p.y));
  const yLabels = tickLabels(yTickValues);
  const yLo = yTickValues[0]!;
  const yHi = yTickValues[yTickValues.length - 1]!;

  const legend = legendLayout(
    series.map((s) => s.name),
    width - 24,
  );
  const top = 40 + legend.rows * LEGEND_ROW + 6;
  const left = 12 + FONT_SIZE + 8 + Math.max(...yLabels.map(textWidth)) + 8;
  const right = width - Math.max(16, textWidth(x.labels[x.labels.length - 1] ?? '') / 2 + 6);
  const bottom = height - 48;
  const plotWidth = Math.max(1, right - left);
  const plotHeight = Math.max(1, bottom - top);
  const sx = (value: number) => left + x.fraction(value) * plotWidth;
  const sy = (value: number) => bottom - ((value - yLo) / (yHi - yLo)) * plotHeight;

  const out: string[] = [];
  out.push(
    `<text x="${px(width / 2)}" y="24" text-anchor="middle" font-size="${TITLE_SIZE}" font-weight="bold">${xml(options.title)}</text>`,
  );
  series.forEach((s, index) => {
    const { x: dx, row } = legend.offsets[index]!;
    const lx = 12 + dx;
    const ly = 40 + row * LEGEND_ROW + LEGEND_ROW / 2 - 2;
    out.push(
      `<g><line x1="${px(lx)}" y1="${px(ly)}" x2="${px(lx + 22)}" y2="${px(ly)}" stroke="${s.colour}" stroke-width="2"/>` +
        marker(s.shape, lx + 11, ly, s.colour) +
        `<text x="${px(lx + 28)}" y="${px(ly + 4)}">${xml(s.name)}</text></g>`,
    );
  });

  // Grid and ticks.
  yTickValues.forEach((tick, i) => {
    const y = sy(tick);
    out.push(
      `<line x1="${px(left)}" y1="${px(y)}" x2="${px(right)}" y2="${px(y)}" stroke="${GRID_COLOUR}"/>`,
      `<line x1="${px(left - 4)}" y1="${px(y)}" x2="${px(left)}" y2="${px(y)}" stroke="${AXIS_COLOUR}"/>`,
      `<text x="${px(left - 7)}" y="${px(y + 4)}" text-anchor="end">${xml(yLabels[i]!)}</text>`,
    );
  });
  let lastLabelEnd = -Infinity;
  x.ticks.forEach((tick, i) => {
    const xPos = sx(tick);
    const label = x.labels[i]!;
    out.push(
      `<line x1="${px(xPos)}" y1="${px(top)}" x2="${px(xPos)}" y2="${px(bottom)}" stroke="${GRID_COLOUR}"/>`,
      `<line x1="${px(xPos)}" y1="${px(bottom)}" x2="${px(xPos)}" y2="${px(bottom + 4)}" stroke="${AXIS_COLOUR}"/>`,
    );
    // Labels that would overlap the previous one are left out (the tick stays).
    const half = textWidth(label) / 2;
    if (xPos - half >= lastLabelEnd + 4) {
      out.push(
        `<text x="${px(xPos)}" y="${px(bottom + 18)}" text-anchor="middle">${xml(label)}</text>`,
      );
      lastLabelEnd = xPos + half;
    }
  });
  out.push(
    `<path d="M${px(left)} ${px(top)}V${px(bottom)}H${px(right)}" fill="none" stroke="${AXIS_COLOUR}"/>`,
    `<text x="${px((left + right) / 2)}" y="${px(height - 10)}" text-anchor="middle">${xml(options.xLabel)}</text>`,
    `<text transform="translate(${px(12 + FONT_SIZE)} ${px((top + bottom) / 2)}) rotate(-90)" text-anchor="middle">${xml(options.yLabel)}</text>`,
  );
  if (yLo < 0 && yHi > 0)
    out.push(
      `<line x1="${px(left)}" y1="${px(sy(0))}" x2="${px(right)}" y2="${px(sy(0))}" stroke="${AXIS_COLOUR}" stroke-width="0.5"/>`,
    );

  // The series.
  for (const s of series) {
    if (s.points.length === 0) continue;
    const d = s.points
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${px(sx(p.x))} ${px(sy(p.y))}`)
      .join('');
    const markers = s.points
      .map(
        (p) =>
          `<g>${marker(s.shape, sx(p.x), sy(p.y), s.colour)}<title>${xml(`${s.name}: ${datum(p.x)}, ${datum(p.y)}`)}</title></g>`,
      )
      .join('');
    out.push(
      `<g><path d="${d}" fill="none" stroke="${s.colour}" stroke-width="2" stroke-linejoin="round"/>${markers}</g>`,
    );
  }
  if (all.length === 0)
    out.push(
      `<text x="${px((left + right) / 2)}" y="${px((top + bottom) / 2)}" text-anchor="middle" fill="#777777">no data</text>`,
    );
  return out.join('\n');
}

/** `given` if it is a positive finite number of pixels, else `fallback`. */
const size = (given: number | undefined, fallback: number) =>
  given !== undefined && Number.isFinite(given) && given > 0 ? given : fallback;

/** An SVG root of `width` × `height` holding `body`, on a white background. */
function svgDocument(width: number, height: number, title: string, body: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${px(width)}" height="${px(height)}" viewBox="0 0 ${px(width)} ${px(height)}" font-family="sans-serif" font-size="${FONT_SIZE}" fill="#222222" role="img">`,
    `<title>${xml(title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    body,
    '</svg>',
    '',
  ].join('\n');
}

/**
 * A self-contained SVG line chart: axes with ticks and labels (y from 0 at 1, 2 or 5 × 10^n
 * steps; x at the data's values on a log2 axis, or at nice steps), one coloured line with point
 * markers per series, and a legend. Points with a NaN or infinite coordinate are skipped.
 */
export function lineChartSvg(options: LineChartOptions): string {
  const width = size(options.width, 640);
  const height = size(options.height, 360);
  return svgDocument(width, height, options.title, chartBody(options, width, height));
}

/** Two charts side by side in one SVG (e.g. throughput and p99 against concurrency). */
export function chartPairSvg(left: LineChartOptions, right: LineChartOptions): string {
  const leftWidth = size(left.width, 640);
  const rightWidth = size(right.width, 640);
  const height = Math.max(size(left.height, 360), size(right.height, 360));
  const body = [
    `<g>\n${chartBody(left, leftWidth, height)}\n</g>`,
    `<g transform="translate(${px(leftWidth)} 0)">\n${chartBody(right, rightWidth, height)}\n</g>`,
  ].join('\n');
  return svgDocument(leftWidth + rightWidth, height, `${left.title}; ${right.title}`, body);
}
