/**
 * The dashboard's browser tests' page check: once nothing is loading, axe-core finds no serious or
 * critical violation, and the page is photographed into docs/dashboard/<name>.png for
 * docs/dashboard.md.
 */
import { expect } from "chai";
import path from "node:path";
import { mkdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { Page } from "playwright-core";
import { ROOT } from "./server.ts";

const SHOTS = path.join(ROOT, "docs/dashboard");
let axeSource: Promise<string> | null = null;

/**
 * axe-core in the page: no serious or critical violation; then, with UPDATE_SCREENSHOTS=1, a
 * screenshot for docs/dashboard.md (so an ordinary test run leaves the tracked images alone).
 */
export async function checkPage(page: Page, name: string): Promise<void> {
  await page.waitForFunction(() => !document.querySelector(".loading"), undefined, { timeout: 10_000 });
  axeSource ??= readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  // page.evaluate runs outside the page's Content-Security-Policy, which allows no inline script.
  await page.evaluate(await axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: unknown }> }> }> } }).axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${JSON.stringify(v.nodes.map((n) => n.target))}`);
  });
  expect(violations, `accessibility of ${name}`).to.deep.equal([]);
  if (process.env.UPDATE_SCREENSHOTS !== "1") return;
  await mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}
