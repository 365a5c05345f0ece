/** Small statistics helpers for the benchmarks. @module */

/** Percentiles of a sample, in the sample's unit. */
export interface Summary {
  n: number;
  p50: number;
  p99: number;
  mean: number;
  min: number;
}

/** Summarises a sample (nearest-rank percentiles). */
export function summarize(sample: number[]): Summary {
  const sorted = [...sample].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
  return {
    n: sorted.length,
    p50: rank(0.5),
    p99: rank(0.99),
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    min: sorted[0],
  };
}

/** Formats a number with a fixed number of decimals and a unit. */
export function fmt(value: number, unit: string, digits = 1): string {
  return `${value.toFixed(digits)} ${unit}`;
}

/** Prints a table with left-aligned first column and right-aligned others. */
export function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(line(head));
  for (const row of rows) console.log(line(row));
}
