import assert from "node:assert/strict";
import { NotFoundError } from "../../../src/lib/errors.ts";
import { composeBottles, mergeOrder } from "../../../src/manifest/compose.ts";
import { ManifestError } from "../../../src/manifest/errors.ts";
import { memoryCatalog } from "./catalog.ts";

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  assert.fail("expected an error");
}

const orderCases: {
  name: string;
  bottles: Record<string, string>;
  requested: string[];
  order: string[];
}[] = [
  { name: "a bottle alone", bottles: { a: "" }, requested: ["a"], order: ["a"] },
  {
    name: "single parent before child",
    bottles: { base: "", dev: "extends: base" },
    requested: ["dev"],
    order: ["base", "dev"],
  },
  {
    name: "multiple parents left to right, then the child",
    bottles: { a: "", b: "", c: "extends: [a, b]" },
    requested: ["c"],
    order: ["a", "b", "c"],
  },
  {
    name: "a diamond keeps the shared base once, at its first place",
    bottles: {
      base: "",
      left: "extends: base",
      right: "extends: base",
      top: "extends: [left, right]",
    },
    requested: ["top"],
    order: ["base", "left", "right", "top"],
  },
  {
    name: "grandparents resolve independently per parent",
    bottles: { g1: "", g2: "", p1: "extends: g1", p2: "extends: g2", c: "extends: [p1, p2]" },
    requested: ["c"],
    order: ["g1", "p1", "g2", "p2", "c"],
  },
  {
    name: "repeated --bottle flags share their bases",
    bottles: { base: "", x: "extends: base", y: "extends: base" },
    requested: ["x", "y"],
    order: ["base", "x", "y"],
  },
  {
    name: "the same --bottle twice counts once",
    bottles: { a: "" },
    requested: ["a", "a"],
    order: ["a"],
  },
];

for (const c of orderCases) {
  Deno.test(`mergeOrder: ${c.name}`, () => {
    const catalog = memoryCatalog(c.bottles);
    assert.deepEqual(mergeOrder(c.requested, catalog).map((b) => b.name), c.order);
  });
}

Deno.test("mergeOrder: a cycle is an error printing the chain", () => {
  const catalog = memoryCatalog({ a: "extends: b", b: "extends: c", c: "extends: a" });
  const error = thrown(() => mergeOrder(["a"], catalog));
  assert.ok(error instanceof ManifestError);
  assert.match(error.message, /at extends: forms a cycle: a -> b -> c -> a$/);
  assert.equal(error.file, "/h/bottles/c.md");
  assert.equal(error.exitCode, 3);
});

Deno.test("mergeOrder: a bottle extending itself is an error", () => {
  const error = thrown(() => mergeOrder(["a"], memoryCatalog({ a: "extends: [a]" })));
  assert.ok(error instanceof ManifestError);
  assert.match(error.message, /"\/h\/bottles\/a\.md" at extends: extends itself/);
});

Deno.test("mergeOrder: a missing parent names it and lists the available bottles", () => {
  const error = thrown(() =>
    mergeOrder(["dev"], memoryCatalog({ dev: "extends: nope", base: "", other: "" }))
  );
  assert.ok(error instanceof ManifestError);
  assert.match(error.message, /at extends: names bottle "nope", which does not exist/);
  assert.equal(error.hint, "Available bottles: base, other");
});

Deno.test("mergeOrder: several missing parents are all named in one error", () => {
  const error = thrown(() =>
    mergeOrder(["dev"], memoryCatalog({ dev: "extends: [base, nothere, nope]", base: "" }))
  );
  assert.ok(error instanceof ManifestError);
  assert.match(error.message, /at extends: names bottles "nothere", "nope", which do not exist/);
  assert.equal(error.hint, "Available bottles: base");
});

Deno.test("mergeOrder: a missing requested bottle is not found (exit 6) with did-you-mean", () => {
  const error = thrown(() => mergeOrder(["shel"], memoryCatalog({ shell: "" })));
  assert.ok(error instanceof NotFoundError);
  assert.equal(error.exitCode, 6);
  assert.match(error.message, /Cannot find bottle "shel"/);
  assert.match(error.hint ?? "", /Did you mean "shell"\?/);
});

Deno.test("mergeOrder: a broken parent fails with that parent's file", () => {
  const error = thrown(() =>
    mergeOrder(["dev"], memoryCatalog({ dev: "extends: base", base: "egres: {}" }))
  );
  assert.ok(error instanceof ManifestError);
  assert.equal(error.file, "/h/bottles/base.md");
});

// The merge table of SPEC §4.4, one row per case.
const mergeCases: {
  name: string;
  bottles: Record<string, string>;
  requested: string[];
  check: (c: ReturnType<typeof composeBottles>) => void;
}[] = [
  {
    name: "env map-merges, later wins per name",
    bottles: { p: "env: {A: p, B: p}", c: "extends: p\nenv: {B: c, C: c}" },
    requested: ["c"],
    check: (c) =>
      assert.deepEqual(
        Object.fromEntries(Object.entries(c.env).map(([k, v]) => [k, `${v.value}@${v.from}`])),
        { A: "p@p", B: "c@c", C: "c@c" },
      ),
  },
  {
    name: "git-gate.user merges per field, later non-empty wins",
    bottles: {
      p: "git-gate: {user: {name: Parent, email: p@example.com}}",
      c: "extends: p\ngit-gate: {user: {name: Child}}",
    },
    requested: ["c"],
    check: (c) => {
      assert.deepEqual(c.gitUser.name, { value: "Child", from: "c" });
      assert.deepEqual(c.gitUser.email, { value: "p@example.com", from: "p" });
    },
  },
  {
    name: "git-gate.repos union by name, same name merged per field",
    bottles: {
      p: "git-gate: {repos: {api: {url: 'ssh://git@g.example.com/a/api.git', key: {provider: static, path: /k}, host_key: 'ssh-ed25519 AAAA'}, web: {url: 'git@g.example.com:a/web.git', key: {provider: static, path: /k}, host_key: 'ssh-ed25519 AAAA'}}}",
      c: "extends: p\ngit-gate: {repos: {api: {key: {provider: gitea, provisioner_token: GT}}}}",
    },
    requested: ["c"],
    check: (c) => {
      assert.deepEqual(c.repos.map((r) => r.name), ["api", "web"]);
      assert.equal(c.repos[0].url?.from, "p");
      assert.equal(c.repos[0].key?.value.provider, "gitea");
      assert.equal(c.repos[0].key?.from, "c");
      assert.deepEqual(c.repos[0].from, ["p", "c"]);
    },
  },
  {
    name:
      "egress.routes concatenate; a later route for the same host replaces the earlier in place",
    bottles: {
      p: "egress: {routes: [{host: a.example.com, ports: [1]}, {host: b.example.com}]}",
      c: "extends: p\negress: {routes: [{host: A.example.com, ports: [2]}, {host: c.example.com}]}",
    },
    requested: ["c"],
    check: (c) => {
      assert.deepEqual(c.routes.map((r) => `${r.route.host}@${r.from}`), [
        "A.example.com@c",
        "b.example.com@p",
        "c.example.com@c",
      ]);
      assert.deepEqual(c.routes[0].route.ports, [2]);
    },
  },
  {
    name: "egress.log, agent_provider and resources: later wins whole",
    bottles: {
      p: "egress: {log: 2}\nagent_provider: {template: codex, auth_token: K}\nresources: {memory: 4g, cpus: 2}",
      c: "extends: p\negress: {log: 1}\nagent_provider: {template: shell}\nresources: {pids: 100}",
    },
    requested: ["c"],
    check: (c) => {
      assert.equal(c.log, 1);
      assert.deepEqual(c.provider, { value: { template: "shell" }, from: "c" });
      assert.deepEqual(c.resources, { value: { pids: 100 }, from: "c" });
    },
  },
  {
    name: "unset keys keep the parent's value",
    bottles: { p: "egress: {log: 2}\nresources: {cpus: 2}", c: "extends: p\nenv: {A: b}" },
    requested: ["c"],
    check: (c) => {
      assert.equal(c.log, 2);
      assert.equal(c.resources?.from, "p");
    },
  },
  {
    name: "multiple parents fold left to right before the child",
    bottles: { a: "env: {X: a, Y: a}", b: "env: {X: b}", c: "extends: [a, b]" },
    requested: ["c"],
    check: (c) => {
      assert.equal(c.env.X.value, "b");
      assert.equal(c.env.Y.value, "a");
    },
  },
  {
    name: "a diamond does not let the shared base override the first parent",
    bottles: {
      base: "env: {X: base}",
      left: "extends: base\nenv: {X: left}",
      right: "extends: base",
      top: "extends: [left, right]",
    },
    requested: ["top"],
    check: (c) => assert.equal(c.env.X.value, "left"),
  },
  {
    name: "repeated --bottle flags merge with the same rules, in order",
    bottles: { x: "env: {A: x}\negress: {log: 2}", y: "env: {A: y}" },
    requested: ["x", "y"],
    check: (c) => {
      assert.equal(c.env.A.value, "y");
      assert.equal(c.log, 2);
    },
  },
];

for (const c of mergeCases) {
  Deno.test(`composeBottles: ${c.name}`, () => {
    c.check(composeBottles(c.requested, memoryCatalog(c.bottles)));
  });
}

Deno.test("composeBottles: a repo without host_key anywhere in the chain is an error", () => {
  const error = thrown(() =>
    composeBottles(
      ["b"],
      memoryCatalog({
        b: "git-gate: {repos: {api: {url: 'ssh://git@g.example.com/a.git', key: {provider: static, path: /k}}}}",
      }),
    )
  );
  assert.ok(error instanceof ManifestError);
  assert.match(
    error.message,
    /at git-gate\.repos\.api\.host_key: is required: pin the upstream's host key/,
  );
});

Deno.test("composeBottles: two repos for one upstream across bottles is an error", () => {
  const repo = (url: string) =>
    `{url: '${url}', key: {provider: static, path: /k}, host_key: 'ssh-ed25519 AAAA'}`;
  const error = thrown(() =>
    composeBottles(
      ["x", "y"],
      memoryCatalog({
        x: `git-gate: {repos: {a: ${repo("ssh://git@g.example.com:22/o/r.git")}}}`,
        y: `git-gate: {repos: {b: ${repo("git@G.example.com:o/r")}}}`,
      }),
    )
  );
  assert.ok(error instanceof ManifestError);
  assert.match(error.message, /same upstream as repo "a"/);
});

Deno.test("composeBottles parses only the requested chain (lazy)", () => {
  const catalog = memoryCatalog({ a: "", b: "extends: a", broken: "egres: {}" });
  composeBottles(["b"], catalog);
  assert.deepEqual([...catalog.parsed].sort(), ["bottle:a", "bottle:b"]);
});
