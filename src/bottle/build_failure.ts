/**
 * What a failed image build reports, pure: {@linkcode describeBuildFailure} turns the engine's
 * error, the failing `Step` and its last output lines into one message and a hint that says what
 * to check (a base image that cannot be pulled, a TLS-inspecting proxy, a Dockerfile error).
 *
 * @module
 */
import { BASE_IMAGE_VARIABLES } from "./base_images.ts";

/** Which host variable overrides the base image a build arg names (for hints). */
const BUILD_ARG_VARIABLES: Readonly<Record<string, string>> = {
  BASE_IMAGE: BASE_IMAGE_VARIABLES.agent,
  DENO_IMAGE: BASE_IMAGE_VARIABLES.deno,
  GITLEAKS_IMAGE: BASE_IMAGE_VARIABLES.gitleaks,
};

const PULL_FAILURE_RE =
  /pull access denied|manifest .*not found|repository does not exist|no such image|dial tcp|no such host|i\/o timeout/i;
const TLS_FAILURE_RE =
  /certificate|x509|SSL|TLS|self[- ]signed|UNABLE_TO_GET_ISSUER|SELF_SIGNED|unable to verify/i;
const PARSE_FAILURE_RE = /dockerfile parse error|unknown instruction|empty continuation/i;

/** Input of {@linkcode describeBuildFailure}. */
export interface BuildFailure {
  name: string;
  /** The engine's error text. */
  engineMessage: string;
  /** The `Step n/m : …` line that failed, if the build got that far. */
  step?: string;
  /** The step's last output lines. */
  output: readonly string[];
  buildArgs: Readonly<Record<string, string>>;
}

/**
 * The message and hint of a failed build. Pure.
 *
 * @example
 * ```ts
 * describeBuildFailure({ name: "x:1", engineMessage: "The command '/bin/sh -c false' returned a non-zero code: 1",
 *   step: "Step 2/2 : RUN false", output: [], buildArgs: {} }).message;
 * // 'Cannot build image "x:1": step 2/2 "RUN false" failed with exit code 1'
 * ```
 */
export function describeBuildFailure(
  failure: BuildFailure,
): { message: string; hint: string; details: string[] } {
  const engine = failure.engineMessage.trim().split("\n")[0] ?? "";
  const exit = /returned a non-zero code: (\d+)/.exec(engine);
  const detail = exit ? `failed with exit code ${exit[1]}` : `failed: ${clip(engine, 300)}`;
  const step = failure.step ? /^Step (\d+\/\d+) : (.*)$/.exec(failure.step) : null;
  const instruction = step ? step[2].replace(/\s{2,}/g, " ") : "";
  let message = step
    ? `Cannot build image "${failure.name}": step ${step[1]} "${clip(instruction, 80)}" ${detail}`
    : `Cannot build image "${failure.name}": ${clip(engine, 300)}`;
  // The output lines continue the message, each on its own line (`BottleError.details`).
  const details = failure.output.map((l) => `    ${clip(l, 200)}`);
  if (details.length > 0) message += "; last output:";
  const fromLine = /^FROM\s+(\S+)/i.exec(instruction);
  const pullFailed = PULL_FAILURE_RE.test(engine);
  if (fromLine || (!step && pullFailed)) {
    const ref = fromLine?.[1] ?? "";
    const arg = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(ref)?.[1];
    const image = arg ? failure.buildArgs[arg] ?? ref : ref;
    const variable = arg ? BUILD_ARG_VARIABLES[arg] : undefined;
    const override = variable ? ` or set ${variable} to an image the engine has` : "";
    return {
      message,
      details,
      hint: `The base image${image ? ` "${image}"` : ""} is missing and cannot be pulled: run ` +
        `scripts/setup.sh (it builds the offline base images)${override}`,
    };
  }
  if ([engine, ...failure.output].some((l) => TLS_FAILURE_RE.test(l))) {
    return {
      message,
      details,
      hint: "A download failed TLS verification: behind a TLS-inspecting proxy set " +
        "BOT_BOTTLE_EXTRA_CA_CERTS to its CA certificates (PEM files or directories)",
    };
  }
  if (PARSE_FAILURE_RE.test(engine)) {
    return { message, details, hint: `Fix the Dockerfile of "${failure.name}"` };
  }
  return {
    message,
    details,
    hint: "Check the step's output; behind a TLS-inspecting proxy set BOT_BOTTLE_EXTRA_CA_CERTS, " +
      "and check that the engine reaches the Debian mirror and the npm registry (NPM_REGISTRY)",
  };
}

function clip(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}
