import assert from "node:assert/strict";
import { formatList, type ListOutput } from "../../../src/cli/list.ts";
import { escapeControl, escapeText } from "../../../src/cli/io.ts";

const LIST: ListOutput = {
  agents: [
    {
      name: "dev",
      source: "repo",
      file: "/r/.bot-bottle/agents/dev.md",
      bottle: "gitea",
      description: null,
      error: null,
    },
    {
      name: "x",
      source: "home",
      file: "/h/agents/x.md",
      bottle: null,
      description: null,
      error: {
        message: 'Invalid manifest "/h/agents/x.md" at egres (2:1): unknown key',
        hint: null,
      },
    },
  ],
  bottles: [
    {
      name: "gitea",
      source: "home",
      file: "/h/bottles/gitea.md",
      template: "claude",
      extends: ["claude"],
      error: null,
    },
  ],
};

Deno.test("formatList prints one aligned line per manifest with source and defaults", () => {
  assert.equal(
    formatList(LIST),
    [
      "agent   dev    repo  bottle gitea",
      'agent   x      home  BROKEN: Invalid manifest "/h/agents/x.md" at egres (2:1): unknown key',
      "bottle  gitea  home  template claude, extends claude",
      "",
    ].join("\n"),
  );
});

Deno.test("formatList escapes control characters", () => {
  const out = formatList({
    agents: [],
    bottles: [{
      name: "b",
      source: "home",
      file: "/f",
      template: null,
      extends: [],
      error: { message: "bad \u001b[31m", hint: null },
    }],
  });
  assert.ok(!out.includes("\u001b"));
});

Deno.test("formatList keeps each manifest on one line: line breaks and tabs are escaped", () => {
  const out = formatList({
    agents: [],
    bottles: [{
      name: "b",
      source: "home",
      file: "/f",
      template: null,
      extends: [],
      error: { message: "bad\nbottle  x  home  template claude\tok", hint: null },
    }],
  });
  assert.equal(out, "bottle  b  home  BROKEN: bad\\x0abottle  x  home  template claude\\x09ok\n");
});

Deno.test("escapeControl escapes every control character; escapeText keeps lines and tabs", () => {
  assert.equal(escapeControl("a\nb\tc\r\u001b\u0085"), "a\\x0ab\\x09c\\x0d\\x1b\\x85");
  assert.equal(escapeText("a\nb\tc\r\u001b\u0085"), "a\nb\tc\\x0d\\x1b\\x85");
});
