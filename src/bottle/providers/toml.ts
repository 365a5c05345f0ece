/**
 * The little TOML codex's `config.toml` needs (SPEC §10.2), pure: basic strings and keys, quoted
 * whenever they are not bare keys, so a path or a URL can never end a string or start a table.
 *
 * @module
 */

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/** A TOML basic string: `"…"` with `"`, `\` and control characters escaped. */
export function tomlString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return out + '"';
}

/** A key: bare when it may be, else quoted. */
export function tomlKey(key: string): string {
  return BARE_KEY.test(key) ? key : tomlString(key);
}

/** A table header `[a."b c".d]`. */
export function tomlTable(...keys: string[]): string {
  return `[${keys.map(tomlKey).join(".")}]`;
}
