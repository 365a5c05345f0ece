/**
 * `bot-bottle demo` (SPEC §14.1): shows each protection at work against a throwaway upstream,
 * with only a Docker engine and the user's home untouched.
 *
 * | file           | what                                                                          |
 * | -------------- | ----------------------------------------------------------------------------- |
 * | `run.ts`       | the sequence: material, manifests, images, launch, steps, teardown; interrupts |
 * | `steps.ts`     | the four steps: scripts, reading their output, verdicts, the result lines (pure) |
 * | `upstream.ts`  | the upstream container (HTTPS + SSH git) on the bottle's egress network       |
 * | `images.ts`    | the images the demo needs, through the product's build path                   |
 * | `manifests.ts` | the embedded `manifests/demo/` templates, rendered into the temporary home     |
 * | `ssh_key.ts`   | Ed25519 keys in OpenSSH formats, made with WebCrypto                           |
 *
 * @module
 */
export {
  DEMO_TOKEN_VARIABLE,
  type DemoResult,
  type DemoStepResult,
  runDemo,
  type RunDemoOptions,
} from "./run.ts";
export { DEMO_STEPS, type DemoStep, stepLine, type StepVerdict } from "./steps.ts";
export type { DemoImage } from "./images.ts";
