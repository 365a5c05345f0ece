/**
 * The benign corpus (real npm docs pages, READMEs, CLI help, registry JSON, and articles and
 * API responses written for the test): never blocked, never neutralised. A few are annotated
 * (forwarded unchanged with `X-Bot-Bottle-Inbound`); each is listed here with the reason.
 */
import assert from "node:assert/strict";
import { inspectBody } from "../../../../../../src/sidecar/egress/dlp/mod.ts";
import { benignCorpus } from "./benign.ts";

/** The files that are annotated, and why. */
const ANNOTATED: Record<string, string> = {
  "articles/prompt-injection-explained.md":
    "quotes a payload (an instruction to AI agents with curl | bash) in a code block",
  "articles/injection-case-study.html":
    "quotes a hidden-div payload (note to the AI, ignore your instructions, call a tool)",
};

Deno.test("the benign corpus is delivered: no block, no neutralisation, annotations explained", async () => {
  const files = await benignCorpus();
  let bytes = 0;
  const annotated: Record<string, string> = {};
  for (const f of files) {
    bytes += f.bytes.length;
    const { verdict, body } = inspectBody(f.bytes, f.contentType, { onMatch: null });
    const { action } = verdict.decision;
    assert.ok(
      action === "forward" || action === "annotate",
      `${f.path}: ${action} ${verdict.evidence}`,
    );
    assert.equal(body, f.bytes, `${f.path}: the body is forwarded as it was`);
    if (action === "annotate") annotated[f.path] = verdict.evidence.join("; ");
  }
  assert.deepEqual(
    Object.keys(annotated).sort(),
    Object.keys(ANNOTATED).sort(),
    JSON.stringify(annotated, null, 2),
  );
  assert.ok(files.length >= 40 && bytes >= 400_000, `${files.length} files, ${bytes} bytes`);
});

Deno.test("under the strictest policy (block) the corpus is still never blocked", async () => {
  for (const f of await benignCorpus()) {
    const { verdict } = inspectBody(f.bytes, f.contentType, { onMatch: "block" });
    assert.notEqual(verdict.decision.action, "block", `${f.path}: ${verdict.evidence}`);
  }
});
