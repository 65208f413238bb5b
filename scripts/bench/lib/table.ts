/**
 * Result tables: printed to the terminal as Markdown, so the same text can be pasted into
 * docs/benchmarks.md unchanged.
 */

export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
  notes?: string[];
}

/** Render a table as Markdown with padded columns (first column left-aligned, others right). */
export function formatTable(table: Table): string {
  const widths = table.columns.map((c, i) => Math.max(c.length, ...table.rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(" | ")} |`;
  const rule = `| ${widths.map((w, i) => (i === 0 ? "-".repeat(w) : `${"-".repeat(Math.max(1, w - 1))}:`)).join(" | ")} |`;
  const out = [`### ${table.title}`, "", line(table.columns), rule, ...table.rows.map(line)];
  if (table.notes?.length) out.push("", ...table.notes.map((n) => `- ${n}`));
  return out.join("\n");
}

/** A number with a fixed number of decimals; "–" for missing values. */
export function fmt(value: number | null | undefined, decimals = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** `value / baseline` as "1.23×"; "–" when either is missing or the baseline is zero. */
export function ratio(value: number | null | undefined, baseline: number | null | undefined, decimals = 2): string {
  if (value === null || value === undefined || baseline === null || baseline === undefined) return "–";
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline === 0) return "–";
  return `${(value / baseline).toFixed(decimals)}×`;
}

/** A fraction as a percentage, e.g. 0.9995 → "99.95%". */
export function percent(fraction: number | null | undefined, decimals = 2): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return "–";
  return `${(fraction * 100).toFixed(decimals)}%`;
}
