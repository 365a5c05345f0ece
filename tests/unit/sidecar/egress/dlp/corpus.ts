/**
 * A benign LLM request body for the DLP tests and `scripts/bench/dlp.ts`: an Anthropic-style
 * Messages request with prose, source code read by tools, shell output, lockfile integrity hashes,
 * commit and image digests, UUIDs, random identifiers and a base64 image — everything that makes
 * pattern detectors noisy on provider routes (LESSONS 15) — and no credential. Deterministic for
 * a seed, so a false positive is reproducible.
 *
 * @module
 */

/** A seeded pseudo-random source (mulberry32). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  "the of and to in is that for it as with was on be by this are or from at which have not " +
  "request response server client cache token value error handler config route build test " +
  "function module package install version release update change commit branch merge review " +
  "a an we you they should would could must when then because while after before into over " +
  "tasks disks desks masks asks flags items users keys files paths steps rules notes types " +
  "proxy sidecar bottle agent manifest network container image volume secret policy detector"
).split(" ");

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const NANO = ALNUM + "_-";
const HEX = "0123456789abcdef";

class Gen {
  constructor(readonly rand: () => number) {}
  int(n: number): number {
    return Math.floor(this.rand() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chars(alphabet: string, n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
  word(): string {
    return this.pick(WORDS);
  }
  ident(): string {
    const parts = [this.word(), this.word(), this.word()].slice(0, 1 + this.int(3));
    switch (this.int(3)) {
      case 0:
        return parts.join("_");
      case 1:
        return parts.map((p, i) => i === 0 ? p : p[0].toUpperCase() + p.slice(1)).join("");
      default:
        return parts.join("");
    }
  }
  sentence(): string {
    const n = 6 + this.int(14);
    const words: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = this.rand();
      if (r < 0.03) words.push(`\`${this.ident()}()\``);
      else if (r < 0.05) words.push(`"${this.ident()}"`);
      else if (r < 0.06) words.push(`https://docs.example.com/${this.ident()}/${this.word()}`);
      else words.push(this.word());
    }
    const s = words.join(" ");
    return s[0].toUpperCase() + s.slice(1) + this.pick([".", ".", ".", "?", ":", "!"]);
  }
  paragraph(): string {
    const n = 2 + this.int(6);
    return Array.from({ length: n }, () => this.sentence()).join(" ");
  }
  uuid(): string {
    const h = this.chars(HEX, 32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${
      h.slice(20)
    }`;
  }
  base64(bytes: number): string {
    let s = "";
    for (let i = 0; i < bytes; i++) s += String.fromCharCode(this.int(256));
    return btoa(s);
  }
  codeLine(indent: string): string {
    const id = this.ident();
    switch (this.int(22)) {
      case 0:
        return `import { ${id} } from "./${this.word()}/${this.ident()}.ts";`;
      case 1:
        return `${indent}const ${id} = await ${this.ident()}(${this.ident()}, { ${this.word()}: ${
          this.int(1000)
        } });`;
      case 2:
        return `${indent}if (${id}.length > ${this.int(64)} && !this.${this.ident()}) {`;
      case 3:
        return `${indent}// ${this.sentence()}`;
      case 4:
        return `${indent}return ${id}.map((s) => s.${this.ident()}).filter(Boolean);`;
      case 5:
        return `${indent}throw new Error(\`Cannot ${this.word()} "\${${id}}": ${this.word()}\`);`;
      case 6:
        return `${indent}"${id}": "sha512-${this.base64(64)}",`;
      case 7:
        return `${indent}const digest = "sha256:${this.chars(HEX, 64)}";`;
      case 8:
        return `${indent}const requestId = "req_${this.chars(ALNUM, 24)}"; // ${this.uuid()}`;
      case 9:
        return `${indent}self.hf_${this.ident()} = load_${this.word()}(path="/models/${this.word()}")`;
      case 10:
        return `${indent}const re = /^[a-z0-9_-]{${this.int(8)},${8 + this.int(40)}}$/i;`;
      case 11:
        return `${indent}export NPM_CONFIG_CACHE=/tmp/npm_config_cache; task-runner --disk-${this.word()}`;
      case 12:
        return `${indent}const id = "${this.chars(NANO, 21)}";`;
      case 13:
        return `${indent}await fetch(\`https://api.example.com/v1/${this.word()}?page=\${n}&per_page=${
          this.int(100)
        }\`);`;
      case 14:
        return `${indent}def ${id}(self, ${this.ident()}: str) -> dict[str, Any]:`;
      case 15:
        return `${indent}assert_eq!(${id}.len(), ${this.int(99)}, "{}", ${this.ident()});`;
      case 16:
        return `${indent}commit ${this.chars(HEX, 40)} (HEAD -> ${this.word()}/${this.ident()})`;
      case 17:
        return `${indent}const sk = "sk-" + ${this.ident()}; // e.g. sk-ant-... or sk-proj-...`;
      case 18:
        return `${indent}.${this.ident()} { margin: ${this.int(20)}px; color: #${
          this.chars(HEX, 6)
        }; }`;
      case 19:
        return `${indent}| ${this.word()} | ${
          this.int(10000)
        } | ${this.ident()} | ${this.uuid()} |`;
      case 20:
        return `${indent}key = os.environ.get("${id.toUpperCase()}_API_KEY", "")  # set in .env`;
      default:
        return `${indent}${id} = ${this.ident()}.${this.ident()}(${this.int(1 << 20)});`;
    }
  }
  code(lines: number): string {
    const out: string[] = [];
    let depth = 0;
    for (let i = 1; i <= lines; i++) {
      const line = this.codeLine("  ".repeat(depth));
      out.push(`${String(i).padStart(5)}\t${line}`);
      if (line.endsWith("{") && depth < 4) depth++;
      else if (depth > 0 && this.rand() < 0.2) {
        depth--;
        out.push(`${String(++i).padStart(5)}\t${"  ".repeat(depth)}}`);
      }
    }
    return out.join("\n");
  }
}

/** The parsed shape of {@linkcode llmRequestBody}. */
export interface LlmRequest {
  model: string;
  max_tokens: number;
  system: { type: "text"; text: string }[];
  tools: { name: string; description: string; input_schema: unknown }[];
  messages: { role: "user" | "assistant"; content: unknown[] }[];
}

/**
 * Builds a benign Messages-API request of about `bytes` bytes (JSON, UTF-8) with no secret.
 *
 * @example
 * ```ts
 * const body = llmRequestBody(1 << 20, 1);
 * JSON.parse(body).messages.length > 10; // true
 * ```
 */
export function llmRequestBody(bytes: number, seed = 1): string {
  const g = new Gen(seededRandom(seed));
  const request: LlmRequest = {
    model: "claude-sonnet-4-5",
    max_tokens: 8192,
    system: [{ type: "text", text: Array.from({ length: 12 }, () => g.paragraph()).join("\n\n") }],
    tools: ["Read", "Edit", "Bash", "Grep"].map((name) => ({
      name,
      description: g.paragraph(),
      input_schema: {
        type: "object",
        properties: { [g.ident()]: { type: "string", description: g.sentence() } },
        required: [],
      },
    })),
    messages: [],
  };
  let size = JSON.stringify(request).length;
  let imageDone = false;
  let turn = 0;
  while (size < bytes) {
    const toolId = `toolu_01${g.chars(ALNUM, 22)}`;
    const assistant = {
      role: "assistant" as const,
      content: [
        { type: "text", text: g.paragraph() },
        {
          type: "tool_use",
          id: toolId,
          name: g.pick(["Read", "Bash", "Grep"]),
          input: { file_path: `/work/src/${g.word()}/${g.ident()}.ts`, limit: 2000 },
        },
      ],
    };
    const remaining = bytes - size;
    const image = Math.min(96 * 1024, Math.floor(bytes / 8));
    const result: unknown[] = !imageDone && turn === 3 && remaining > 2 * image
      ? [{
        type: "image",
        source: { type: "base64", media_type: "image/png", data: g.base64(image) },
      }]
      : [];
    if (result.length > 0) imageDone = true;
    const user = {
      role: "user" as const,
      content: [
        {
          type: "tool_result",
          tool_use_id: toolId,
          content: g.code(Math.max(20, Math.min(400, Math.floor(remaining / 70)))),
        },
        ...result,
        { type: "text", text: g.paragraph() },
      ],
    };
    request.messages.push(assistant, user);
    size += JSON.stringify(assistant).length + JSON.stringify(user).length + 2;
    turn++;
  }
  return JSON.stringify(request);
}
