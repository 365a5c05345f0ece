import assert from "node:assert/strict";
import { describeBuildFailure } from "../../../src/bottle/build_failure.ts";

Deno.test("describeBuildFailure names the image, the step, its exit code and last output", () => {
  const { message, hint, details } = describeBuildFailure({
    name: "bot-bottle-shell:0.1.0",
    engineMessage:
      "The command '/bin/sh -c set -eux;     apt-get update' returned a non-zero code: 100",
    step:
      "Step 6/11 : RUN set -eux;     apt-get update;     apt-get install -y --no-install-recommends       bash git ca-certificates curl procps",
    output: ["+ apt-get update", "E: Unable to locate package procps"],
    buildArgs: { BASE_IMAGE: "node:22-slim" },
  });
  assert.equal(
    message,
    'Cannot build image "bot-bottle-shell:0.1.0": step 6/11 "RUN set -eux; apt-get update; apt-get install -y --no-install-recommends bash g…" failed with exit code 100; last output:',
  );
  assert.deepEqual(details, ["    + apt-get update", "    E: Unable to locate package procps"]);
  assert.match(hint, /BOT_BOTTLE_EXTRA_CA_CERTS/);
});

Deno.test("describeBuildFailure hints at the offline base images for a failing FROM", () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      "FROM ${BASE_IMAGE}",
      { BASE_IMAGE: "node:22-slim" },
      /"node:22-slim".*BOT_BOTTLE_AGENT_BASE_IMAGE/,
    ],
    ["FROM ${DENO_IMAGE}", { DENO_IMAGE: "d:1" }, /"d:1".*BOT_BOTTLE_DENO_IMAGE/],
    [
      "FROM ${GITLEAKS_IMAGE} AS gitleaks",
      { GITLEAKS_IMAGE: "g:1" },
      /"g:1".*BOT_BOTTLE_GITLEAKS_IMAGE/,
    ],
    ["FROM debian:bookworm-slim", {}, /"debian:bookworm-slim"/],
  ];
  for (const [instruction, buildArgs, expected] of cases) {
    const { message, hint } = describeBuildFailure({
      name: "x:1",
      engineMessage:
        'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host',
      step: `Step 2/9 : ${instruction}`,
      output: [],
      buildArgs,
    });
    assert.match(message, /^Cannot build image "x:1": step 2\/9 "FROM .*" failed: Get "https:/);
    assert.match(hint, /run scripts\/setup\.sh/);
    assert.match(hint, expected);
  }
});

Deno.test("describeBuildFailure tells TLS failures, Dockerfile errors and other failures apart", () => {
  const tls = describeBuildFailure({
    name: "x:1",
    engineMessage: "The command '/bin/sh -c npm install -g x' returned a non-zero code: 1",
    step: "Step 7/9 : RUN npm install -g x",
    output: ["npm error code UNABLE_TO_GET_ISSUER_CERT_LOCALLY"],
    buildArgs: {},
  });
  assert.match(tls.hint, /^A download failed TLS verification: .*BOT_BOTTLE_EXTRA_CA_CERTS/);
  const parse = describeBuildFailure({
    name: "x:1",
    engineMessage: "dockerfile parse error line 2: unknown instruction: RUNX",
    output: [],
    buildArgs: {},
  });
  assert.equal(
    parse.message,
    'Cannot build image "x:1": dockerfile parse error line 2: unknown instruction: RUNX',
  );
  assert.equal(parse.hint, 'Fix the Dockerfile of "x:1"');
  const other = describeBuildFailure({
    name: "x:1",
    engineMessage: "COPY failed: file not found in build context",
    step: "Step 3/4 : COPY nope /nope",
    output: [],
    buildArgs: {},
  });
  assert.equal(
    other.message,
    'Cannot build image "x:1": step 3/4 "COPY nope /nope" failed: COPY failed: file not found in build context',
  );
  assert.match(other.hint, /^Check the step's output/);
});
