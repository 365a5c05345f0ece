/**
 * Front matter parsing (pure): splits a manifest into its YAML front matter and its Markdown
 * body, and turns the YAML into plain data while refusing what SPEC §4.1 forbids: anchors,
 * aliases, tags, directives, duplicate keys, multiple documents, non-string keys. Positions of
 * every key and value are kept so validation errors can name a line and column.
 *
 * @module
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node as YamlNode,
  parseAllDocuments,
} from "yaml";
import { formatPath, ManifestError, type ManifestIssue } from "./errors.ts";

/** Largest manifest accepted, in characters. */
export const MAX_MANIFEST_CHARS = 256 * 1024;
/** Deepest nesting of maps and lists accepted in front matter. */
export const MAX_NESTING = 24;

/** A line and column, both 1-based, in the manifest file. */
export interface Position {
  line: number;
  column: number;
}

/** A key path inside the front matter. */
export type KeyPath = readonly (string | number)[];

/** The result of {@linkcode parseManifest}. */
export interface ParsedManifest {
  /** The file the text came from (used in every error). */
  file: string;
  /** The front matter as plain data: objects, arrays, strings, numbers, booleans, null. */
  data: Record<string, unknown>;
  /** The body, trimmed: an agent's system prompt, a bottle's documentation. */
  body: string;
  /**
   * Where a key path sits in the file: by default its value (falling back to its key), with
   * `"key"` its key (falling back to its value); else the nearest parent's.
   */
  positionOf(path: KeyPath, prefer?: "key" | "value"): Position | undefined;
}

/**
 * Parses a manifest's text.
 *
 * @example
 * ```ts
 * const m = parseManifest("---\nbottle: dev\n---\nYou fix bugs.\n", "agents/fixer.md");
 * m.data.bottle; // "dev"
 * m.body; // "You fix bugs."
 * ```
 * @throws {ManifestError} for missing front matter, YAML syntax errors and forbidden YAML.
 */
export function parseManifest(text: string, file: string): ParsedManifest {
  const fail = (message: string, pos?: Position, hint?: string): never => {
    throw new ManifestError(file, { path: "", ...pos, message, hint });
  };
  if (text.length > MAX_MANIFEST_CHARS) {
    fail(`file is larger than ${MAX_MANIFEST_CHARS / 1024} KiB`);
  }
  if (text.includes("\u0000")) fail("file contains NUL bytes (binary data)");
  const normalised = text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const lines = normalised.split("\n");
  if (!/^---[ \t]*$/.test(lines[0])) {
    fail(
      "no front matter: the file must start with a `---` line",
      { line: 1, column: 1 },
      "Put the YAML keys between two `---` lines at the top of the file",
    );
  }
  const close = lines.findIndex((l, i) => i > 0 && /^---[ \t]*$/.test(l));
  if (close < 0) {
    fail("front matter is not closed: no second `---` line", { line: 1, column: 1 });
  }
  const yamlText = lines.slice(1, close).join("\n");
  const body = lines.slice(close + 1).join("\n").trim();
  // +1 for the opening `---` line.
  const { data, positionOf } = parseYamlText(yamlText, file, 1, "front matter");
  return { file, data, body, positionOf };
}

/** The result of {@linkcode parseYamlFile}: a {@linkcode ParsedManifest} without a body. */
export type ParsedYaml = Omit<ParsedManifest, "body">;

/**
 * Parses a plain YAML file (a provider plugin's `provider.yaml`) under the rules of front
 * matter: one document, a map at the top, no anchors, aliases, tags, directives or duplicate
 * keys; positions are lines of the file itself.
 *
 * @throws {ManifestError} for syntax errors and forbidden YAML.
 */
export function parseYamlFile(text: string, file: string): ParsedYaml {
  const fail = (message: string): never => {
    throw new ManifestError(file, { path: "", message });
  };
  if (text.length > MAX_MANIFEST_CHARS) {
    fail(`file is larger than ${MAX_MANIFEST_CHARS / 1024} KiB`);
  }
  if (text.includes("\u0000")) fail("file contains NUL bytes (binary data)");
  const normalised = text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const { data, positionOf } = parseYamlText(normalised, file, 0, "the file");
  return { file, data, positionOf };
}

/** The YAML part of both: `lineOffset` lines precede `yamlText` in the file. */
function parseYamlText(
  yamlText: string,
  file: string,
  lineOffset: number,
  what: string,
): ParsedYaml {
  const fail = (message: string, pos?: Position, hint?: string): never => {
    throw new ManifestError(file, { path: "", ...pos, message, hint });
  };
  const control = findControl(yamlText);
  if (control !== undefined) {
    fail(`${what} contains a control character`, offsetPosition(yamlText, control, lineOffset));
  }

  const directive = /^%/m.exec(yamlText);
  if (directive) {
    fail(
      `YAML directives are not allowed in ${what}`,
      offsetPosition(yamlText, directive.index, lineOffset),
    );
  }

  const counter = new LineCounter();
  let docs;
  try {
    docs = parseAllDocuments(yamlText, {
      lineCounter: counter,
      prettyErrors: false,
      uniqueKeys: true,
      version: "1.2",
      schema: "core",
      merge: false,
      strict: true,
      stringKeys: false,
    });
  } catch (error) {
    // The parser should report problems as document errors; anything thrown is still ours.
    throw new ManifestError(file, { path: "", message: `cannot parse the YAML of ${what}` }, {
      cause: error,
    });
  }
  const positionAt = (offset: number): Position => {
    const { line, col } = counter.linePos(offset);
    return { line: line + lineOffset, column: col };
  };
  const all = Array.isArray(docs) ? docs : [docs];
  if (all.length > 1) {
    const second = all[1];
    fail(
      `${what} holds more than one YAML document`,
      second.range ? positionAt(second.range[0]) : undefined,
    );
  }
  const doc = all[0];
  const positions = new Map<string, Position>();
  let data: Record<string, unknown> = {};
  if (doc !== undefined) {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) {
      const issues = problems.map((p): ManifestIssue => ({
        path: "",
        ...(p.pos ? positionAt(p.pos[0]) : {}),
        message: yamlProblem(p.code),
      }));
      throw new ManifestError(file, issues[0], { more: issues.slice(1) });
    }
    if (doc.directives?.yaml.explicit || doc.directives?.docStart) {
      fail(`YAML directives and document markers are not allowed in ${what}`);
    }
    const converter = new Converter(file, positionAt, positions);
    const value = converter.convert(doc.contents as YamlNode | null, [], 0);
    if (value === null) {
      data = {};
    } else if (typeof value !== "object" || Array.isArray(value)) {
      fail(
        `${what} must be a map of keys (\`key: value\` lines)`,
        doc.contents?.range ? positionAt(doc.contents.range[0]) : undefined,
      );
    } else {
      data = value as Record<string, unknown>;
    }
  }
  return {
    file,
    data,
    positionOf(path: KeyPath, prefer: "key" | "value" = "value"): Position | undefined {
      const order = prefer === "key" ? ["k", "v"] : ["v", "k"];
      for (let n = path.length; n >= 0; n--) {
        for (const kind of n === path.length ? order : ["k", "v"]) {
          const p = positions.get(kind + pathKey(path.slice(0, n)));
          if (p) return p;
        }
      }
      return undefined;
    },
  };
}

/** Key of the position map; prefixed `v` for the value at a path, `k` for its key. */
function pathKey(path: KeyPath): string {
  return JSON.stringify(path);
}

class Converter {
  constructor(
    readonly file: string,
    readonly positionAt: (offset: number) => Position,
    readonly positions: Map<string, Position>,
  ) {}

  fail(node: { range?: [number, number, number] | null } | null, path: KeyPath, message: string) {
    const pos = node?.range ? this.positionAt(node.range[0]) : undefined;
    return new ManifestError(this.file, { path: formatPath(path), ...pos, message });
  }

  convert(node: YamlNode | null, path: KeyPath, depth: number): unknown {
    if (node === null || node === undefined) return null;
    if (node.range) this.positions.set("v" + pathKey(path), this.positionAt(node.range[0]));
    if (depth > MAX_NESTING) {
      throw this.fail(node, path, `nested deeper than ${MAX_NESTING} levels`);
    }
    if (isAlias(node)) throw this.fail(node, path, "YAML aliases (`*name`) are not allowed");
    if (node.anchor) throw this.fail(node, path, "YAML anchors (`&name`) are not allowed");
    if (node.tag) throw this.fail(node, path, "YAML tags (`!tag`) are not allowed");
    if (isScalar(node)) {
      const v = node.value;
      if (typeof v === "string") {
        if (CONTROL.test(v)) throw this.fail(node, path, "value contains a control character");
        return v;
      }
      if (v === null || typeof v === "boolean" || typeof v === "number") return v;
      throw this.fail(node, path, "unsupported YAML value type");
    }
    if (isSeq(node)) {
      return node.items.map((item, i) =>
        this.convert(item as YamlNode | null, [...path, i], depth + 1)
      );
    }
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      for (const pair of node.items) {
        const key = pair.key as YamlNode | null;
        if (!isScalar(key) || typeof key.value !== "string" || key.anchor || key.tag) {
          throw this.fail(
            isAlias(key) || isScalar(key) || isMap(key) || isSeq(key) ? key : node,
            path,
            "keys must be plain strings",
          );
        }
        const name = key.value;
        if (CONTROL.test(name)) throw this.fail(key, path, "key contains a control character");
        const keyPath = [...path, name];
        if (key.range) this.positions.set("k" + pathKey(keyPath), this.positionAt(key.range[0]));
        const value = this.convert(pair.value as YamlNode | null, keyPath, depth + 1);
        // defineProperty: a key named "__proto__" stays an ordinary (unknown) key.
        Object.defineProperty(out, name, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    throw this.fail(node, path, "unsupported YAML node");
  }
}

/** A short, value-free description of a YAML parser error code. */
function yamlProblem(code: string): string {
  switch (code) {
    case "DUPLICATE_KEY":
      return "duplicate key";
    case "TAG_RESOLVE_FAILED":
    case "BAD_TAG":
      return "YAML tags (`!tag`) are not allowed";
    case "BAD_ALIAS":
    case "ALIAS_PROPS":
      return "YAML aliases (`*name`) are not allowed";
    case "RESOURCE_EXHAUSTION":
      return "YAML is nested too deeply or too large";
    case "MULTIPLE_DOCS":
      return "front matter holds more than one YAML document";
    case "TAB_AS_INDENT":
      return "YAML syntax error: tabs cannot indent";
    default:
      return `YAML syntax error (${code.toLowerCase().replaceAll("_", " ")})`;
  }
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

function findControl(text: string): number | undefined {
  const m = CONTROL.exec(text);
  return m ? m.index : undefined;
}

function offsetPosition(yamlText: string, offset: number, lineOffset: number): Position {
  const before = yamlText.slice(0, offset).split("\n");
  return { line: before.length + lineOffset, column: before[before.length - 1].length + 1 };
}
