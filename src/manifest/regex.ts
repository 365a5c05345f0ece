/**
 * User-supplied regular expressions of route `matches` (SPEC §7.2 step 6): length-capped,
 * compiled once at load with the flags the proxy uses, full-match anchored, and refused when
 * their shape invites catastrophic backtracking. Pure.
 *
 * @module
 */

/** Longest pattern accepted, in characters. */
export const MAX_REGEX_LENGTH = 512;
/** Largest `{n,m}` bound accepted. */
export const MAX_REPEAT_BOUND = 1000;

/** Compiles a route pattern as the proxy does: anchored full match, Unicode mode. */
export function compileRoutePattern(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, "u");
}

/**
 * Checks a route pattern; returns what is wrong (the pattern itself is never echoed) or
 * `undefined` when it is safe to run.
 *
 * Refused: over {@linkcode MAX_REGEX_LENGTH} characters, invalid syntax, backreferences, a
 * repeated group that itself contains a repetition (`(a+)+`, `(\d*x)*`, `(.*){2,}`), and
 * `{n,m}` bounds over {@linkcode MAX_REPEAT_BOUND}.
 *
 * @example
 * ```ts
 * routePatternProblem("/api/v1/repos/acme/[^/]+/(issues|pulls)(/.*)?"); // undefined
 * routePatternProblem("(a+)+$"); // "nests a repetition inside a repetition ..."
 * ```
 */
export function routePatternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return "must not be empty";
  if (pattern.length > MAX_REGEX_LENGTH) {
    return `must be at most ${MAX_REGEX_LENGTH} characters`;
  }
  try {
    compileRoutePattern(pattern);
  } catch {
    return "is not a valid regular expression (Unicode mode)";
  }
  return shapeProblem(pattern);
}

interface Frame {
  /** Contains a quantifier that repeats more than once. */
  repeats: boolean;
}

function shapeProblem(p: string): string | undefined {
  const stack: Frame[] = [{ repeats: false }];
  // What a following quantifier applies to: a group frame, or a single atom (null).
  let last: Frame | null | undefined;
  let i = 0;
  while (i < p.length) {
    const c = p[i];
    if (c === "\\") {
      const next = p[i + 1] ?? "";
      if (/[1-9]/.test(next) || (next === "k" && p[i + 2] === "<")) {
        return "uses a backreference, which can make matching take exponential time";
      }
      i += 2;
      last = null;
      continue;
    }
    if (c === "[") {
      i++;
      if (p[i] === "^") i++;
      if (p[i] === "]") i++;
      while (i < p.length && p[i] !== "]") i += p[i] === "\\" ? 2 : 1;
      i++;
      last = null;
      continue;
    }
    if (c === "(") {
      stack.push({ repeats: false });
      i++;
      if (p[i] === "?") {
        // (?:  (?=  (?!  (?<=  (?<!  (?<name>
        const m = /^\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>)/.exec(p.slice(i));
        i += m ? m[0].length : 1;
      }
      last = undefined;
      continue;
    }
    if (c === ")") {
      const frame = stack.length > 1 ? stack.pop()! : stack[0];
      if (frame.repeats) stack[stack.length - 1].repeats = true;
      last = frame;
      i++;
      continue;
    }
    if (c === "|") {
      last = undefined;
      i++;
      continue;
    }
    let max: number | undefined;
    let length = 0;
    if (c === "*" || c === "+") {
      max = Infinity;
      length = 1;
    } else if (c === "?") {
      max = 1;
      length = 1;
    } else if (c === "{") {
      const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(p.slice(i));
      if (m) {
        const min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
        if (min > MAX_REPEAT_BOUND || (max !== Infinity && max > MAX_REPEAT_BOUND)) {
          return `uses a repetition bound above ${MAX_REPEAT_BOUND}`;
        }
        length = m[0].length;
      }
    }
    if (max !== undefined) {
      if (max > 1) {
        if (last && last.repeats) {
          return "nests a repetition inside a repetition (like `(a+)+`), which can make matching take exponential time";
        }
        stack[stack.length - 1].repeats = true;
      }
      i += length;
      if (p[i] === "?") i++; // lazy
      last = undefined;
      continue;
    }
    last = null;
    i++;
  }
  return undefined;
}
