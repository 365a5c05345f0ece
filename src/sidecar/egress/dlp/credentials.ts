/**
 * The `credentials` detector: a value assigned to a password, secret, token or key name, in any
 * syntax an agent copies from a file or builds itself (`.env`, shell `export`, YAML, JSON, INI,
 * TOML, code literals, `--password value`), a field of that name (JSON member, form field, query
 * parameter, header, cookie), and the password of a URL's userinfo
 * (`postgres://user:pass@db.example.com`).
 *
 * A value counts when it has at least {@linkcode MIN_VALUE_LENGTH} chars and is not a
 * placeholder ({@linkcode isPlaceholder}: `changeme`, `<password>`, `${VAR}`, `***`, a word that
 * names the field, an upper-case variable name, …). Unquoted values must not read as code (a
 * dotted reference like `process.env.TOKEN`, a bare identifier after `:` like a type name);
 * bare words, and quoted literals of lower-case letters only (`password: 'ahotproject'` in a
 * library's docs), count only in an environment-style assignment (`DB_PASSWORD=correcthorse`).
 * Names such as `next_page_token`, `csrf_token` and `max_tokens` are not credentials.
 *
 * The free-text forms are rules of the shared literal search (`rules.ts`): a keyword hit runs the
 * rule's sticky pattern, and {@linkcode assignmentCheck} or {@linkcode userinfoCheck} confirm it. The field forms are
 * checked per segment by `scan.ts` with {@linkcode credentialField}.
 *
 * @module
 */

/** Shortest value that counts. */
export const MIN_VALUE_LENGTH = 8;

/** Shortest URL userinfo password that counts. */
export const MIN_URL_PASSWORD_LENGTH = 6;

/**
 * The keyword literals of the search, by how many chars of the name come before them (`lead`):
 * each is the tail of a credential word that starts with a pair of letters that is rare in text
 * (`sword` of `password`, `oken` of `token`), so the literal search (`literals.ts`), which steps
 * over pairs that start no literal, keeps its speed on prose that says "password" or "token".
 */
export const CREDENTIAL_KEYWORDS_BY_LEAD: readonly {
  lead: number;
  keywords: string[];
  /** The first letter of the credential word (either case). */
  first: string;
}[] = [
  { lead: 3, keywords: ["sword", "SWORD", "swd", "SWD"], first: "p" }, // password, passwd
  { lead: 4, keywords: ["phrase", "PHRASE"], first: "p" }, // passphrase
  { lead: 2, keywords: ["cret", "CRET"], first: "s" }, // secret
  { lead: 1, keywords: ["oken", "OKEN"], first: "t" }, // token
  // api_key, access_key, private_key with a separator: `_key` after 3, 6 or 7 chars.
  ...([[3, "a"], [6, "a"], [7, "p"]] as const).map(([lead, first]) => ({
    lead,
    keywords: ["_key", "_Key", "_KEY", "-key", "-Key", "-KEY"],
    first,
  })),
  { lead: 2, keywords: ["ikey", "iKey", "IKey", "IKEY"], first: "a" }, // apikey, apiKey, APIKey
  { lead: 5, keywords: ["skey", "sKey", "SKey", "SKEY"], first: "a" }, // accesskey, accessKey
  { lead: 6, keywords: ["ekey", "eKey", "EKEY"], first: "p" }, // privatekey, privateKey
];

/** Every credential keyword literal. */
export const CREDENTIAL_KEYWORDS: readonly string[] = [
  ...new Set(CREDENTIAL_KEYWORDS_BY_LEAD.flatMap((g) => g.keywords)),
];

/** The core words, for names (case-insensitive, separators optional). */
const NAME_CORE = String
  .raw`(?:pass(?:word|wd|phrase)|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)`;

/** A name that ends in a credential word (`DB_PASSWORD`, `accessToken`, `x-api-key`). */
const CREDENTIAL_NAME = new RegExp(`${NAME_CORE}(?:[_-]?key)?$`, "i");

/** Words that make a name something else than a credential (`next_page_token`, `csrf_token`). */
const NOT_CREDENTIAL_WORDS = new Set([
  "page",
  "pagination",
  "continuation",
  "cursor",
  "sync",
  "cancellation",
  "csrf",
  "xsrf",
  "authenticity",
  "idempotency",
  "verification",
  "captcha",
  "bucket",
  "lexer",
  "parser",
]);

/** First words of names that hold a flag, a count or a function rather than a credential. */
const NOT_CREDENTIAL_FIRST = new Set([
  "next",
  "prev",
  "previous",
  "max",
  "min",
  "num",
  "total",
  "count",
  "input",
  "output",
  "cache",
  "cached",
  "reasoning",
  "completion",
  "prompt",
  "resume",
  "stream",
  "is",
  "has",
  "use",
  "show",
  "hide",
  "toggle",
  "reset",
  "forgot",
  "get",
  "set",
  "fetch",
  "load",
  "save",
  "store",
  "update",
  "create",
  "generate",
  "validate",
  "check",
  "require",
  "required",
  "enable",
  "enabled",
  "allow",
  "no",
  "with",
  "without",
  "needs",
]);

/** The words of a name: split at `_`, `-`, `.` and camelCase humps, lower-cased. */
function nameWords(name: string): string[] {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase().split(/[\s_.-]+/).filter((w) => w !== "");
}

const PLACEHOLDER_ANYWHERE =
  /\$\{|\{\{|%\(|<[A-Za-z_ -]{1,40}>|\$\(|x{4,}|X{4,}|\*{3,}|\.{3}|_{4,}|-{4,}|0{6,}|#{4,}|•|password|passwd|secret|token|api[_-]?key|changeme|change[_-]?me|example|sample|dummy|placeholder|your[_-]|redacted|replace[_-]?(?:me|with|this)|insert|enter[_-]?(?:a|the|your)|fake|mock|foobar|lorem|undefined|notset|not[_-]set|todo|fixme/i;

const PLACEHOLDER_WHOLE =
  /^(?:null|none|nil|true|false|string|str|bytes|required|optional|default|empty|unset|hidden|masked|secret|public|private|test|testing|admin|root|guest|user|pass|qwerty|letmein|welcome|abc123|123456|[0-9]+)(?:[0-9_!.-]{0,6})$/i;

/** A digest (`sha512-…`, `sha256:…`): integrity hashes are public. */
const DIGEST = /^(?:sha(?:1|224|256|384|512)|md5|blake2b?)[-:=]/i;

/** An environment-variable reference or name (`$VAR`, `%VAR%`, `OPENAI_API_KEY`). */
const VARIABLE = /^(?:\$[A-Za-z_{(]|%[A-Za-z_]+%$|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$)/;

/** A dotted reference (`process.env.TOKEN`, `self.password`, `config.apiKey`). */
const DOTTED = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/;

/**
 * Whether a value is a placeholder rather than a credential: a template or variable reference,
 * masking (`***`, `xxxx`, `********`), a word naming what belongs there (`changeme`,
 * `your-api-key`, `password123`), a type or literal (`string`, `null`, `true`), a bare number,
 * a digest (`sha512-…`), or too few distinct chars (`aaaaaaaa`).
 *
 * @example
 * ```ts
 * isPlaceholder("${DB_PASSWORD}"); // true
 * isPlaceholder("hunter2hunter2"); // false
 * ```
 */
export function isPlaceholder(value: string): boolean {
  if (PLACEHOLDER_ANYWHERE.test(value) || PLACEHOLDER_WHOLE.test(value)) return true;
  if (VARIABLE.test(value) || DIGEST.test(value)) return true;
  return new Set(value.toLowerCase()).size <= 3;
}

/** The name before a keyword (`DB_` of `DB_PASSWORD`, `spring.datasource.` of its password). */
function nameEndingAt(text: string, keywordStart: number): { name: string; start: number } {
  let start = keywordStart;
  while (start > 0 && start > keywordStart - 64) {
    const c = text.charCodeAt(start - 1);
    const word = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ||
      c === 95 || c === 45 || c === 46;
    if (!word) break;
    start--;
  }
  return { name: text.slice(start, keywordStart), start };
}

/** Whether a field or variable name is a credential's (ends in a credential word, not denied). */
export function credentialName(name: string): boolean {
  // A keyword literal in it, too: the quick path of `request.ts` finds names by these literals.
  if (!CREDENTIAL_NAME.test(name) || !CREDENTIAL_KEYWORDS.some((k) => name.includes(k))) {
    return false;
  }
  const words = nameWords(name);
  if (words.some((w) => NOT_CREDENTIAL_WORDS.has(w))) return false;
  return !(words.length > 1 && NOT_CREDENTIAL_FIRST.has(words[0]));
}

/**
 * Whether a field's value is a credential: the field's name ends in a credential word and the
 * value is a non-placeholder of at least {@linkcode MIN_VALUE_LENGTH} chars without whitespace.
 *
 * @example
 * ```ts
 * credentialField("db_password", "hunter2hunter2"); // true
 * credentialField("next_page_token", "page-0042"); // false
 * ```
 */
export function credentialField(name: string, value: string): boolean {
  if (value.length < MIN_VALUE_LENGTH || value.length > 4096 || /\s/.test(value)) return false;
  return credentialName(name) && !isPlaceholder(value);
}

/**
 * The sticky pattern of an assignment, tried at a credential keyword: the rest of the name
 * (`_KEY` of `SECRET_KEY`), a closing quote or bracket of a key, an operator (`=`, `:`, `:=`,
 * `=>`; blanks after a `--flag`), an optional opening quote and the value.
 */
export const ASSIGNMENT_PATTERN = String.raw`${NAME_CORE}(?:[_-]?key)?(?![A-Za-z0-9_])` +
  String.raw`(?:\\?["'])?\]?(?:[ \t]{0,8}(?<op>:=|=>|[:=])[ \t]{0,8}|` +
  String.raw`(?<=--[A-Za-z0-9_.-]{1,80})[ \t]{1,8})(?<oq>\\?["'\x60])?` +
  String.raw`(?<secret>[^\s"'\x60\\,;&<>(){}\[\]|]{8,256})(?=[\s"'\x60\\,;&<>(){}\[\]|]|$)`;

/** A URL's user name and password chars (a password may hold a colon). */
const USER_CHARS = String.raw`[^\s\/?#@:"'\x60<>\\]`;
const PASSWORD_CHARS = String.raw`[^\s\/?#@"'\x60<>\\]`;

/** The sticky pattern of a URL's userinfo password, tried at `://`. */
export const USERINFO_PATTERN = String.raw`:\/\/(?<user>${USER_CHARS}{0,64}):` +
  String.raw`(?<secret>${PASSWORD_CHARS}{1,128})@(?=[A-Za-z0-9\[])`;

/** The ASCII chars of a class (1 = in it). */
function asciiTable(cls: string): Uint8Array {
  const re = new RegExp(`^${cls}$`);
  return Uint8Array.from({ length: 128 }, (_, c) => re.test(String.fromCharCode(c)) ? 1 : 0);
}

const USER_TABLE = asciiTable(USER_CHARS);
const PASSWORD_TABLE = asciiTable(PASSWORD_CHARS);

/**
 * Whether {@linkcode USERINFO_PATTERN} can match at a `://` that ends at `end`, read cheaply:
 * the user name's chars, then a colon (the first char that is not one, within 64), the
 * password's, then `@` (the first that is not one, within 128) and a host's first char. A
 * non-ASCII char on the way is not judged (true).
 */
export function userinfoMay(text: string, end: number): boolean {
  let i = end;
  for (const lim = Math.min(text.length, end + 64); i < lim; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128) return true;
    if (USER_TABLE[c] === 0) break;
  }
  if (text.charCodeAt(i) !== 58) return false;
  const from = ++i;
  for (const lim = Math.min(text.length, from + 128); i < lim; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128) return true;
    if (PASSWORD_TABLE[c] === 0) break;
  }
  if (i === from || text.charCodeAt(i) !== 64) return false;
  const host = text.charCodeAt(i + 1);
  return host >= 128 || HOST_START[host] === 1;
}

const HOST_START = asciiTable(String.raw`[A-Za-z0-9\[]`);

/**
 * Whether {@linkcode ASSIGNMENT_PATTERN} can match a name whose credential word ends at `end`
 * (where a keyword hit ends: each keyword is the tail of its word), read cheaply: past an
 * optional `key` (`_key`, `-key`, any case), an optional quote (`"`, `'`, `\"`, `\'`) and an
 * optional `]`, an operator's first char (`:`, `=`), or spaces or tabs before one or after a
 * `--flag` name. Each optional part is taken where it is there: the pattern cannot skip one
 * (what comes next could not be the char it skipped).
 */
export function assignmentMay(text: string, end: number): boolean {
  let at = end;
  const sep = text.charCodeAt(at);
  const k = sep === 95 || sep === 45 ? at + 1 : at;
  if (
    (text.charCodeAt(k) | 32) === 107 && (text.charCodeAt(k + 1) | 32) === 101 &&
    (text.charCodeAt(k + 2) | 32) === 121
  ) at = k + 3;
  const c = text.charCodeAt(at);
  const next = text.charCodeAt(at + 1);
  if (c === 92 && (next === 34 || next === 39)) at += 2;
  else if (c === 34 || c === 39) at++;
  if (text.charCodeAt(at) === 93) at++;
  const op = text.charCodeAt(at);
  if (op === 58 || op === 61) return true;
  if (op !== 32 && op !== 9) return false;
  // Spaces or tabs: before an operator (at most eight of them), or after a `--flag` name: `--`
  // and then 1 to 80 flag-name chars right before them.
  let after = at;
  while (after < at + 8 && (text.charCodeAt(after) === 32 || text.charCodeAt(after) === 9)) after++;
  const afterSpaces = text.charCodeAt(after);
  if (afterSpaces === 58 || afterSpaces === 61) return true;
  for (let j = at - 1; j >= Math.max(1, at - 81); j--) {
    const c = text.charCodeAt(j);
    if (j <= at - 2 && c === 45 && text.charCodeAt(j - 1) === 45) return true;
    if (c >= 128) return true;
    if (FLAG_NAME[c] === 0) return false;
  }
  return false;
}

/** The chars of a `--flag` name in {@linkcode ASSIGNMENT_PATTERN}'s lookbehind. */
const FLAG_NAME = asciiTable("[A-Za-z0-9_.-]");

/**
 * Confirms an assignment match (`ASSIGNMENT_PATTERN` at `m.index` of `text`): the name is a
 * credential's, the operator fits the syntax, the quotes close, and the value is neither a
 * placeholder nor code.
 */
export function assignmentCheck(m: RegExpExecArray, text: string): boolean {
  const groups = m.groups!;
  const value = groups.secret;
  const end = m.index + m[0].length;
  if (groups.oq !== undefined) {
    const quote = groups.oq[groups.oq.length - 1];
    if (text[end] !== quote && text.slice(end, end + 2) !== "\\" + quote) return false;
  }
  // Value checks first: they are cheaper than the name's, and most assignments of code fail them.
  if (isPlaceholder(value)) return false;
  const op = groups.op;
  const { name } = nameEndingAt(text, m.index);
  const full = name + text.slice(m.index, end - value.length).replace(
    /(?:\\?["'])?\]?[ \t]*(?::=|=>|[:=])?[ \t]*(?:\\?["'\x60])?$/,
    "",
  );
  const envStyle = /^[A-Z][A-Z0-9_.-]*$/.test(full) && (op === "=" || op === ":");
  if (groups.oq === undefined) {
    if (DOTTED.test(value) || /^[0-9.]+$/.test(value)) return false;
    // A bare word: only an environment-style assignment (NAME=value, NAME: value).
    if (/^[A-Za-z_]+$/.test(value) && !envStyle) return false;
  } else if (/^[a-z]+$/.test(value) && !envStyle) {
    // A literal of lower-case letters in code is a documentation example ('honoishot').
    return false;
  }
  return credentialName(full);
}

/** Confirms a userinfo match: a real-looking password, not the user name again. */
export function userinfoCheck(m: RegExpExecArray): boolean {
  const { user, secret } = m.groups!;
  if (secret.length < MIN_URL_PASSWORD_LENGTH) return false;
  if (user.length >= 3 && secret.toLowerCase().includes(user.toLowerCase())) return false;
  return !isPlaceholder(secret) && !/^(?:pass|pwd|postgres|mysql|redis|root|admin)$/i.test(secret);
}
