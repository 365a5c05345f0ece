import assert from "node:assert/strict";
import { collectList, type ListCatalog } from "../../../src/cli/list_collect.ts";
import { resolveAgent } from "../../../src/manifest/resolve.ts";
import { memoryCatalog, type Texts } from "../manifest/catalog.ts";

const PLUGIN = "description: Echo\ncommand: [echo-agent]\nargs: {interactive: [], " +
  'headless: [--print, "{prompt}"]}\n';

/** A list catalog over in-memory bottles, each with an agent `a-<bottle>` using it. */
function listCatalog(bottles: Texts, plugins: Texts = {}): ListCatalog {
  const agents = Object.fromEntries(
    Object.keys(bottles).map((b) => [`a-${b}`, `bottle: ${b}\n---\nHi.`]),
  );
  const catalog = memoryCatalog(bottles, agents, {}, plugins);
  return {
    ...catalog,
    agentEntries: () =>
      catalog.agentNames().map((name) => ({
        kind: "agent" as const,
        name,
        source: "home" as const,
        file: `/h/agents/${name}.md`,
      })),
    bottleEntries: () =>
      catalog.names().map((name) => ({
        kind: "bottle" as const,
        name,
        source: "home" as const,
        file: `/h/bottles/${name}.md`,
      })),
  };
}

/** The error `info`/`start` give for the agent of `bottle`. */
function startError(catalog: ListCatalog, bottle: string): Error {
  try {
    resolveAgent(catalog, `a-${bottle}`);
  } catch (error) {
    assert.ok(error instanceof Error);
    return error as Error;
  }
  assert.fail(`a-${bottle} resolves`);
}

Deno.test("collectList lists as broken what start refuses, with start's message", () => {
  const catalog = listCatalog({
    tmpl: "agent_provider: {template: claud}",
    provauth: "egress: {routes: [{host: API.Anthropic.com, auth: {scheme: Bearer, token_ref: X}}]}",
    child: "extends: tmpl",
    settings: "agent_provider: {template: pi, settings: {baseUrl: 'ftp://x'}}",
  });
  const list = collectList(catalog);
  for (const name of ["tmpl", "provauth", "child", "settings"]) {
    const b = list.bottles.find((b) => b.name === name)!;
    const expected = startError(catalog, name) as Error & { hint?: string };
    assert.ok(b.error !== null, `${name} is listed as fine`);
    assert.equal(b.error.message, expected.message, name);
    assert.equal(b.error.hint, expected.hint ?? null, name);
    assert.equal(b.template, null);
  }
  const tmpl = list.bottles.find((b) => b.name === "tmpl")!;
  assert.match(tmpl.error!.message, /agent_provider\.template: names "claud"/);
  assert.equal(tmpl.error!.hint, 'Did you mean "claude"?');
  assert.match(
    list.bottles.find((b) => b.name === "provauth")!.error!.message,
    /egress\.routes\[0\]\.auth: cannot be set on api\.anthropic\.com/,
  );
});

Deno.test("collectList lists a bottle with an installed plugin template as fine", () => {
  const bottles = { plug: "agent_provider: {template: echo-agent}", plain: "" };
  const list = collectList(listCatalog(bottles, { "echo-agent": PLUGIN }));
  assert.deepEqual(
    list.bottles.map((b) => [b.name, b.template, b.error]),
    [["plain", "claude", null], ["plug", "echo-agent", null]],
  );
  const broken = collectList(listCatalog(bottles, { "echo-agent": "description: Echo\n" }));
  assert.match(
    broken.bottles.find((b) => b.name === "plug")!.error!.message,
    /contrib\/echo-agent\/provider\.yaml" at /,
  );
});
