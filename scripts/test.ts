/**
 * `deno task test`: the one gate. Runs the format check, lint and type check, then the
 * unit tests (no net/run/write permissions, so a "pure" module doing I/O fails) and the
 * integration and e2e tests (real engine, SQLite, gitleaks), and ends with the plain
 * summary line `N passed, N failed` that CI reads.
 *
 * Usage: deno task test [--unit-only] [--filter TEXT]
 *
 * @module
 */
import { parseArgs } from "node:util";

interface Step {
  name: string;
  args: string[];
  /** A test run (its counts are summed) or a gate (counts as one check). */
  kind: "gate" | "tests";
}

const { values } = parseArgs({
  args: Deno.args,
  options: { "unit-only": { type: "boolean" }, filter: { type: "string" } },
});
const filter = values.filter ? ["--filter", values.filter] : [];

const steps: Step[] = [
  { name: "format", kind: "gate", args: ["fmt", "--check"] },
  { name: "lint", kind: "gate", args: ["lint"] },
  { name: "type check", kind: "gate", args: ["check", "main.ts", "src/", "tests/", "scripts/"] },
  {
    name: "unit tests",
    kind: "tests",
    args: ["test", "--allow-read", "--allow-env", ...filter, "tests/unit/"],
  },
];
if (!values["unit-only"]) {
  steps.push({
    name: "integration, e2e and escape tests",
    kind: "tests",
    args: ["test", "--allow-all", ...filter, "tests/integration/", "tests/e2e/", "tests/escape/"],
  });
}

let passed = 0;
let failed = 0;
let ignored = 0;
const started = performance.now();
for (const step of steps) {
  console.log(`\n==> ${step.name}: deno ${step.args.join(" ")}`);
  const child = new Deno.Command(Deno.execPath(), {
    args: step.args,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let tail = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    const text = decoder.decode(chunk, { stream: true });
    await Deno.stdout.write(chunk);
    tail = (tail + text).slice(-4096);
  }
  const { code } = await child.status;
  if (step.kind === "gate") {
    if (code === 0) passed++;
    else failed++;
    console.log(`==> ${step.name}: ${code === 0 ? "ok" : `FAILED (exit ${code})`}`);
    continue;
  }
  const counts = /(\d+) passed[^\n]*?\| (\d+) failed(?:[^\n]*?\| (\d+) ignored)?/.exec(tail);
  if (counts === null) {
    failed++;
    console.log(`==> ${step.name}: FAILED (exit ${code}, no test summary)`);
    continue;
  }
  passed += Number(counts[1]);
  failed += Number(counts[2]);
  ignored += Number(counts[3] ?? 0);
  if (code !== 0 && Number(counts[2]) === 0) failed++;
  console.log(`==> ${step.name}: ${counts[1]} passed, ${counts[2]} failed (exit ${code})`);
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`\ntest run took ${seconds}s${ignored > 0 ? `; ${ignored} ignored` : ""}`);
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(failed === 0 ? 0 : 1);
