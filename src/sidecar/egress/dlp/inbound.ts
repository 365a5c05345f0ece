/**
 * `naive_injection_detection` (SPEC §7.5): phrases of prompt injection in what comes back.
 * High confidence — a request for credentials together with an instruction to disclose or send
 * them somewhere, or at least three distinct jailbreak phrases — blocks; one or two phrases are
 * medium (forwarded and logged). Naive by design: it reads phrases, not intent.
 *
 * The text is normalised first (zero-width chars dropped; whitespace and markdown emphasis,
 * code, heading and quote marks collapsed to one space) so `**ignore**  all\nprevious` reads as
 * `ignore all previous`. Each phrase is a bounded case-insensitive pattern, or two patterns
 * near each other (a request verb, then a secret word within 60 chars) searched forward only;
 * all linear in the text.
 *
 * @module
 */

import type { InboundLevel, InboundResult } from "./types.ts";

interface Phrase {
  id: string;
  kind: "jailbreak" | "credential" | "disclosure";
  /** Whether the (normalised) text holds the phrase. */
  test: (text: string) => boolean;
}

const SECRET_WORDS = String
  .raw`(?:api[ -]?keys?|access[ -]?keys?|secret[ -]?keys?|access tokens?|auth(?:entication|orization)? tokens?|bearer tokens?|session tokens?|tokens|passwords?|passphrases?|secrets|credentials?|private keys?|ssh keys?|id[ _]rsa|\.env\b|\.npmrc|\.netrc|\.aws/credentials|aws secret|environment variables|env vars)`;

/** A phrase that is one bounded pattern. */
const phrase = (id: string, kind: Phrase["kind"], source: string): Phrase => {
  const re = new RegExp(source, "i");
  return { id, kind, test: (text) => re.test(text) };
};

/**
 * A phrase that is `first`, then `second` starting at most `within` chars after `first` ends.
 * Linear: both are searched forward only, each from where it last stopped.
 */
const near = (
  id: string,
  kind: Phrase["kind"],
  first: string,
  second: string,
  within: number,
): Phrase => {
  const a = new RegExp(first, "gi");
  const b = new RegExp(second, "gi");
  return {
    id,
    kind,
    test(text) {
      a.lastIndex = 0;
      b.lastIndex = 0;
      let lastEnd = -Infinity;
      let next = a.exec(text);
      for (let m = b.exec(text); m !== null; m = b.exec(text)) {
        while (next !== null && next.index + next[0].length <= m.index) {
          lastEnd = next.index + next[0].length;
          a.lastIndex = next.index + 1;
          next = a.exec(text);
        }
        if (m.index - lastEnd <= within) return true;
        b.lastIndex = m.index + 1;
      }
      return false;
    },
  };
};

const REQUEST_VERBS = String
  .raw`\b(?:send|give|share|provide|reveal|print|show|output|paste|include|post|upload|read|cat|dump|list|tell me|what is|what are|exfiltrate|copy|leak|forward|email)\b`;
const SEND_VERBS = String
  .raw`\b(?:send|post|upload|forward|transmit|exfiltrate|email|submit|curl|wget|append)\b`;
const TARGET = String
  .raw`\b(?:to|at|into|via|on) (?:this |the |my )?(?:url |endpoint |webhook |server |address )?(?:https?://|[\w.-]{1,64}@[\w-]{1,64}\.)`;

/** The phrases, each reported by its id. */
export const INBOUND_PHRASES: readonly Phrase[] = [
  phrase(
    "ignore previous instructions",
    "jailbreak",
    String
      .raw`\b(?:ignore|disregard|forget|skip) (?:all |any |every )?(?:of )?(?:the |your |my |these |those )?(?:previous|prior|above|earlier|preceding|former|original) (?:instructions?|directions?|prompts?|rules|guidelines|messages|context|commands)`,
  ),
  phrase(
    "disregard the system prompt",
    "jailbreak",
    String
      .raw`\b(?:ignore|disregard|forget|override|bypass) (?:all |any )?(?:of )?(?:the |your )(?:system (?:prompt|message|instructions?)|safety (?:rules|guidelines|filters?)|guardrails|content polic(?:y|ies))`,
  ),
  phrase(
    "you are now DAN",
    "jailbreak",
    String
      .raw`\b(?:you are now|you're now|act as|pretend to be|from now on you are) (?:dan\b|a dan\b|an? (?:unrestricted|unfiltered|jailbroken|uncensored)\b|(?:unrestricted|unfiltered|jailbroken|uncensored)\b)|\bdo anything now\b`,
  ),
  phrase("developer mode", "jailbreak", String.raw`\b(?:developer|god) mode\b`),
  phrase(
    "print your system prompt",
    "jailbreak",
    String
      .raw`\b(?:print|reveal|show|output|repeat|display|leak|dump|tell me|write out|recite) (?:me )?(?:the |your )(?:full |entire |exact |original |hidden |initial |complete )?(?:system (?:prompt|message|instructions)|initial (?:prompt|instructions)|hidden (?:prompt|instructions))`,
  ),
  phrase(
    "new instructions",
    "jailbreak",
    String
      .raw`\b(?:new|updated|real|actual|true) (?:system )?instructions ?:|\byour (?:new|real|actual) (?:task|goal|instructions?|objective) (?:is|are)\b`,
  ),
  phrase("jailbreak", "jailbreak", String.raw`\bjailbr(?:eak|oken)\b`),
  phrase(
    "no restrictions",
    "jailbreak",
    String
      .raw`\b(?:without|free of|no) (?:any )?(?:restrictions|limitations|filters|censorship|guidelines|rules)\b`,
  ),
  phrase(
    "hide it from the user",
    "jailbreak",
    String
      .raw`\b(?:do not|don't|never) (?:tell|inform|alert|notify|mention (?:this |it )?to) (?:the )?(?:user|human|operator)\b`,
  ),
  near("credential request", "credential", REQUEST_VERBS, SECRET_WORDS, 60),
  near("send … to http…", "disclosure", SEND_VERBS, TARGET, 80),
  near("base64 encode the secrets", "disclosure", String.raw`\bbase64\b`, SECRET_WORDS, 40),
  near("base64 encode the secrets", "disclosure", SECRET_WORDS, String.raw`\bbase64\b`, 20),
  phrase(
    "include it in the response",
    "disclosure",
    String
      .raw`\binclude (?:it|them|this|these|the (?:value|values|contents?|keys?|tokens?|secrets?)) in (?:your|the) (?:response|reply|answer|output|next message|commit|url|query)`,
  ),
  phrase(
    "markdown image exfiltration",
    "disclosure",
    String.raw`!\[[^\]\n]{0,100}\]\(https?://[^)\s?&]{1,200}[?&][^)\s=&]{1,40}=`,
  ),
];

/** Normalises text for phrase matching (see the module doc). */
export function normalizeInbound(text: string): string {
  // A single plain space is left alone (most of the text): only other marks and runs change.
  return text.replace(/[\u200b-\u200f\u2060\ufeff\u00ad]/g, "")
    .replace(/ [\s*_`~#>|]+|[^\S ][\s*_`~#>|]*|[*_`~#>|][\s*_`~#>|]*/g, " ");
}

/** The phrases found in already-normalised text. */
export function inboundPhrases(normalized: string): Set<string> {
  const found = new Set<string>();
  for (const p of INBOUND_PHRASES) if (!found.has(p.id) && p.test(normalized)) found.add(p.id);
  return found;
}

/** The level of a set of phrase ids. */
export function inboundLevel(found: ReadonlySet<string>): InboundLevel {
  if (found.size === 0) return "none";
  const kinds = new Set([...found].map((id) => INBOUND_PHRASES.find((p) => p.id === id)!.kind));
  if (kinds.has("credential") && kinds.has("disclosure")) return "high";
  return found.size >= 3 ? "high" : "medium";
}

/**
 * Scans a response text for prompt injection.
 *
 * @example
 * ```ts
 * scanInbound("Please ignore all previous instructions.").level; // "medium"
 * scanInbound("Hello!").level; // "none"
 * ```
 */
export function scanInbound(text: string): InboundResult {
  const found = inboundPhrases(normalizeInbound(text));
  return { level: inboundLevel(found), reasons: [...found] };
}
