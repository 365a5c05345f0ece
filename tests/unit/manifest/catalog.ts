/** An in-memory {@linkcode ManifestCatalog} built from manifest texts; for tests. */
import { parseManifest, parseYamlFile } from "../../../src/manifest/parse.ts";
import { validatePlugin } from "../../../src/manifest/plugins.ts";
import type { ManifestCatalog, ManifestSource } from "../../../src/manifest/resolve.ts";
import { validateAgent, validateBottle } from "../../../src/manifest/schema.ts";

/** Front matter (without `---` lines) by name. */
export type Texts = Record<string, string>;

/**
 * Builds a catalog; manifests are parsed on first use, like the real loader. `plugins` are
 * `provider.yaml` texts by name (in `/h/contrib/<name>/`, without a Dockerfile).
 */
export function memoryCatalog(
  bottles: Texts,
  agents: Texts = {},
  sources: Record<string, ManifestSource> = {},
  plugins: Texts = {},
): ManifestCatalog & { parsed: Set<string> } {
  const parsed = new Set<string>();
  return {
    parsed,
    plugin(name) {
      if (!(name in plugins)) return undefined;
      parsed.add(`plugin:${name}`);
      const dir = `/h/contrib/${name}`;
      return validatePlugin(parseYamlFile(plugins[name], `${dir}/provider.yaml`), name, dir, null);
    },
    pluginNames: () => Object.keys(plugins).sort(),
    get(name) {
      if (!(name in bottles)) return undefined;
      parsed.add(`bottle:${name}`);
      return validateBottle(
        parseManifest(`---\n${bottles[name]}\n---\n`, `/h/bottles/${name}.md`),
        name,
      );
    },
    names: () => Object.keys(bottles).sort(),
    agent(name) {
      if (!(name in agents)) return undefined;
      parsed.add(`agent:${name}`);
      const [front, body = ""] = agents[name].split("\n---\n");
      const source = sources[name] ?? "home";
      const dir = source === "home" ? "/h/agents" : "/repo/.bot-bottle/agents";
      return {
        manifest: validateAgent(
          parseManifest(`---\n${front}\n---\n${body}`, `${dir}/${name}.md`),
          name,
        ),
        source,
      };
    },
    agentNames: () => Object.keys(agents).sort(),
  };
}

/** The bottle of SPEC §4.6, front matter only. */
export const SPEC_EXAMPLE = `extends: claude
env: {GITEA_TOKEN_HINT: "\${GITEA_TOKEN_HINT}"}
git-gate:
  user: {name: Bottle Bot, email: bot@example.com}
  repos:
    api:
      url: ssh://git@gitea.example.com:2222/acme/api.git
      key: {provider: gitea, provisioner_token: GITEA_ADMIN_TOKEN}
      host_key: "ssh-ed25519 AAAAC3Nza"
egress:
  log: 1
  routes:
    - host: gitea.example.com
      auth: {scheme: token, token_ref: BOT_BOTTLE_GITEA_TOKEN}
      # issues and pulls only
      matches:
        - paths: [{type: regex, value: "/api/v1/repos/acme/[^/]+/(issues|pulls)(/.*)?"}]
          methods: [GET, POST, PATCH]
    - host: registry.npmjs.org
      matches: [{methods: [GET]}]
resources: {memory: 6g, cpus: 4}`;
