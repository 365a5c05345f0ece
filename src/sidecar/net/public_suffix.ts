/**
 * The Public Suffix List (vendored in `data/public_suffix_list.dat`, both sections; source and
 * date in `data/README.md`), for the rule that a suffix route (`host: "*.example.com"`) never
 * names a public suffix: names under `com`, `co.uk` or `github.io` belong to unrelated owners,
 * so `*.github.io` would let the agent reach any site someone can publish there.
 *
 * The list is read once, on first use, from the file next to this module (shipped with the
 * sources, and inside the compiled binary with `--include src/sidecar`). Matching follows the
 * list's algorithm (https://github.com/publicsuffix/list/wiki/Format): the longest matching
 * rule wins, `*` matches one label, `!` rules are exceptions, and an unlisted TLD is itself a
 * public suffix (the implicit `*` rule).
 *
 * @module
 */

interface Rules {
  exact: Set<string>;
  wildcard: Set<string>;
  exception: Set<string>;
}

let rules: Rules | null = null;

/**
 * Parses the list's text: one rule per line, `//` comments, blank lines; labels lower-cased
 * (internationalised rules stay in Unicode; route hosts are ASCII and never match them).
 */
export function parsePublicSuffixList(text: string): Rules {
  const parsed: Rules = { exact: new Set(), wildcard: new Set(), exception: new Set() };
  for (const line of text.split("\n")) {
    const rule = line.trim().split(/\s/)[0];
    if (rule === "" || rule.startsWith("//")) continue;
    const r = rule.toLowerCase();
    if (r.startsWith("!")) parsed.exception.add(r.slice(1));
    else if (r.startsWith("*.")) parsed.wildcard.add(r.slice(2));
    else parsed.exact.add(r);
  }
  return parsed;
}

function loaded(): Rules {
  rules ??= parsePublicSuffixList(
    Deno.readTextFileSync(new URL("./data/public_suffix_list.dat", import.meta.url)),
  );
  return rules;
}

/**
 * The public suffix of a lower-case host name: `co.uk` for `a.b.co.uk`, `github.io` for
 * `x.github.io`, `com` for `example.com`.
 *
 * @example
 * ```ts
 * publicSuffix("api.example.co.uk"); // "co.uk"
 * ```
 * @throws {Error} when the vendored list cannot be read.
 */
export function publicSuffix(host: string, list: Rules = loaded()): string {
  const labels = host.split(".");
  // The longest rule that matches; exceptions shorten a wildcard match by one label.
  for (let i = 0; i < labels.length; i++) {
    const candidate = labels.slice(i).join(".");
    if (list.exception.has(candidate)) return labels.slice(i + 1).join(".");
    if (list.exact.has(candidate)) return candidate;
    const parent = labels.slice(i + 1).join(".");
    if (i + 1 < labels.length && list.wildcard.has(parent)) return candidate;
  }
  return labels[labels.length - 1];
}

/**
 * Whether a lower-case host name is a public suffix itself (`com`, `co.uk`, `github.io`,
 * `s3.amazonaws.com`).
 *
 * @throws {Error} when the vendored list cannot be read.
 */
export function isPublicSuffix(host: string, list: Rules = loaded()): boolean {
  return publicSuffix(host, list) === host;
}
