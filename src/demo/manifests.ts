/**
 * The demo's embedded manifests (`manifests/demo/`, shipped in the binary; `init` never installs
 * them): a bottle `demo` and an agent `demo`, templates whose `{{NAME}}` fields the demo fills
 * with what it generated for the run. {@linkcode renderManifest} is pure; {@linkcode
 * writeDemoManifests} writes both into the demo's temporary home.
 *
 * @module
 */
import { readAssetText } from "../lib/assets.ts";
import type { HomeLayout } from "../lib/home.ts";

/** The values the bottle template needs. */
export interface DemoManifestValues {
  /** The upstream's name on the egress network (git server and HTTPS upstream). */
  UPSTREAM_HOST: string;
  /** The private key git-gate pushes with (absolute path). */
  GIT_KEY_PATH: string;
  /** The git server's host key line (`ssh-ed25519 AAAA…`). */
  HOST_KEY: string;
}

const PLACEHOLDER = /\{\{([A-Z_]+)\}\}/g;

/**
 * Fills `{{NAME}}` fields. Values go inside YAML double quotes, so a quote, backslash or control
 * character is refused rather than escaped.
 *
 * @example
 * ```ts
 * renderManifest('host_key: "{{HOST_KEY}}"', { HOST_KEY: "ssh-ed25519 AAAA" });
 * // 'host_key: "ssh-ed25519 AAAA"'
 * ```
 * @throws {Error} for a field without a value, or a value that cannot be quoted as is.
 */
export function renderManifest(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`The demo manifest needs a value for {{${name}}}`);
    // deno-lint-ignore no-control-regex
    if (/["\\\u0000-\u001f\u007f]/.test(value)) {
      throw new Error(`The demo manifest's {{${name}}} cannot hold quotes or control characters`);
    }
    return value;
  });
}

/**
 * Writes `bottles/demo.md` and `agents/demo.md` into `layout` (directories 0700, files 0600).
 *
 * @throws {Error} when a template field has no value; file-system errors.
 */
export async function writeDemoManifests(
  layout: HomeLayout,
  values: DemoManifestValues,
): Promise<void> {
  for (const [kind, dir] of [["bottles", layout.bottles], ["agents", layout.agents]] as const) {
    const text = await readAssetText(`manifests/demo/${kind}/demo.md`);
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(`${dir}/demo.md`, renderManifest(text, { ...values }), {
      mode: 0o600,
    });
  }
}
