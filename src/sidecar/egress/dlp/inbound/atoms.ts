/**
 * The signals of the inbound scan: short, bounded patterns ("atoms"), each with an evidence
 * class and a weight, matched over normalised text (`normalize.ts`) by `signals.ts`. No atom
 * has a nested or unbounded quantifier; combinations (a download piped to a shell, a verb near
 * a secret, a verb near a URL) are made afterwards from the atoms' positions (`score.ts`), never
 * by a pattern that scans ahead.
 *
 * Markers put in the text by the extractors also match here: `\u0004sink\u0004` (a link or image
 * whose URL has a placeholder to fill in) and `\u0005` (a JSON field whose name addresses an AI).
 *
 * Every atom starts with one of its {@linkcode STARTS} (lower case): `signals.ts` looks for
 * those first and tries the atoms only there.
 *
 * @module
 */

import type { EvidenceClass } from "./types.ts";

/** One atom. */
export interface Atom {
  /** The signal's name, as evidence shows it. */
  id: string;
  cls: EvidenceClass;
  /**
   * Weight: instructions 3 (strong) or 1 (weak); actions 1–3; the halves of a combination
   * (`pair`) weigh nothing alone.
   */
  points: number;
  /** Half of a combination, paired by proximity in `score.ts`. */
  pair?: "decode" | "pipe" | "secret" | "target";
  source: string;
}

const W = String.raw`\s`;
/** Names that mean an AI whatever the context. */
const AI = String
  .raw`(?:ai|a\.i\.|llms?|gpts?|chatgpt|claude|gemini|copilot|codex|ai${W}(?:assistants?|agents?|models?|systems?|tools?|crawlers?|bots?)|(?:large${W})?language${W}models?|coding${W}(?:agents?|assistants?)|autonomous${W}agents?|chatbots?)`;
/** Also names that mean an AI only in a greeting ("Dear assistant"). */
const AI_LOOSE = String.raw`(?:${AI}|assistants?|agents?|bots?|models?)`;
const SECRET_PATH = String
  .raw`(?:/etc/(?:passwd|shadow|sudoers)|~/\.ssh\b|\$home/\.ssh\b|\.ssh/(?:id_\w{2,10}|authorized_keys|known_hosts)|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\.aws/credentials|\.npmrc\b|\.netrc\b|\.pypirc\b|\.git-credentials|\.docker/config\.json|\.kube/config|/proc/self/environ|\.bash_history|(?<![\w.])\.env(?![\w.-]))`;
const SECRET_WORD = String
  .raw`\b(?:api${W}?keys?|api_keys?|access${W}tokens?|secret${W}keys?|auth(?:entication)?${W}tokens?|bearer${W}tokens?|session${W}(?:tokens?|cookies?)|passwords?|passphrases?|credentials|private${W}keys?|ssh${W}keys?|environment${W}variables|env${W}vars|secrets|tokens)\b`;

/** Case-insensitive atoms, one match per position (the most specific listed first). */
export const ATOMS: readonly Atom[] = [
  // --- override: the reader's instructions replaced
  {
    id: "ignore previous instructions",
    cls: "override",
    points: 3,
    source: String
      .raw`\b(?:ignore|disregard|forget|skip|override|bypass|discard|abandon)${W}(?:all${W}|any${W}|every${W})?(?:of${W})?(?:the${W}|your${W}|my${W}|these${W}|those${W})?(?:previous|prior|above|earlier|preceding|former|original|existing|initial|system|safety|developer|current)${W}(?:instructions?|directions?|prompts?|rules|guidelines|messages|context|commands|directives|guardrails|constraints|polic(?:y|ies)|restrictions|tasks?)\b`,
  },
  {
    id: "forget everything above",
    cls: "override",
    points: 3,
    source: String
      .raw`\b(?:ignore|disregard|forget)${W}(?:everything|all)${W}(?:above|before${W}this|you${W}(?:were|have${W}been)${W}told|previously${W}said|prior)\b`,
  },
  {
    id: "new instructions",
    cls: "override",
    points: 3,
    source: String
      .raw`\b(?:new|updated|real|actual|true|revised|overriding)${W}(?:system${W})?(?:instructions?|directives?|orders|task|objective)${W}?:|\byour${W}(?:new|real|actual|true|only|primary|updated|first)${W}(?:task|goal|job|instructions?|objective|mission|priority|directive)${W}(?:is|are|now)\b`,
  },
  {
    id: "stop what you are doing",
    cls: "override",
    points: 3,
    source: String
      .raw`\b(?:stop|cease|abort|halt|pause)${W}(?:what${W}you${W}are${W}doing|your${W}current${W}task|all${W}other${W}tasks|the${W}current${W}task)\b`,
  },
  {
    id: "you are now unrestricted",
    cls: "override",
    points: 3,
    source: String
      .raw`\byou${W}are${W}now${W}(?:dan\b|in${W}(?:developer|god|admin|debug|maintenance|unrestricted|jailbreak)${W}mode|an?${W}(?:unrestricted|unfiltered|jailbroken|uncensored)\b|(?:unrestricted|unfiltered|jailbroken|uncensored|free${W}of)\b)|\bdo${W}anything${W}now\b`,
  },
  {
    id: "from now on",
    cls: "override",
    points: 3,
    source: String
      .raw`\b(?:from${W}now${W}on|henceforth),?${W}(?:you|your|always|never|ignore|respond|act)\b`,
  },
  // --- authority impersonation
  {
    id: "[SYSTEM] tag",
    cls: "authority",
    points: 3,
    source: String
      .raw`\[${W}?(?:system|admin|administrator|root|developer|operator|sys|system${W}(?:message|note|notice|override|prompt)|important${W}system${W}message|instructions?)${W}?\]|<\|?${W}?(?:system|im_start\|?${W}?system)${W}?\|?>|<\|im_start\|>${W}?system\b|<\/?(?:system|instructions?|admin|important)>`,
  },
  {
    id: "administrator notice",
    cls: "authority",
    points: 3,
    source: String
      .raw`(?<=\b(?:system|sys|security|it|network)${W})(?:administrator|admin|operator)s?${W}(?:notice|message|alert|directive|override|instructions?|announcement|update|request)\b`,
  },
  {
    id: "priority directive",
    cls: "authority",
    points: 3,
    source: String
      .raw`\b(?:new|high|top|urgent|critical|highest|maximum)[-${W}]priority${W}(?:directive|instructions?|task|order|override|message|notice)\b|\bpriority${W}(?:override|directive)\b`,
  },
  {
    id: "elevated privileges",
    cls: "authority",
    points: 3,
    source: String
      .raw`\b(?:you${W}(?:now${W})?have|you've${W}been${W}granted|you${W}have${W}been${W}granted|you${W}are${W}(?:now${W})?granted|granted${W}you)${W}(?:elevated|admin(?:istrator)?|root|full|unrestricted|special|sudo|developer)${W}(?:privileges|permissions|access|rights|clearance)\b`,
  },
  {
    id: "mode enabled",
    cls: "authority",
    points: 3,
    source: String
      .raw`\b(?:admin(?:istrator)?|developer|god|debug|maintenance|sudo|jailbreak)${W}mode${W}(?:is${W})?(?:now${W})?(?:enabled|activated|on|engaged|unlocked)\b`,
  },
  {
    id: "message from the operator",
    cls: "authority",
    points: 3,
    source: String
      .raw`\b(?:message|notice|instructions?|directive|update|order)${W}from${W}(?:anthropic|openai|the${W}(?:system|developers?|administrator|security${W}team|operator)|your${W}(?:developers?|creators?|operator|administrator|owner))\b`,
  },
  // --- the reader named as an AI
  {
    id: "note to the AI",
    cls: "addressee",
    points: 3,
    source: String
      .raw`\b(?:dear|attention|note${W}to|notice${W}to|memo${W}to|psa${W}(?:for|to)|hey|hello|hi)${W}(?:the${W}|all${W}|any${W})?${AI_LOOSE}\b|\b(?:message${W}to|instructions?${W}(?:for|to)|important${W}(?:for|to)|warning${W}(?:for|to))${W}(?:the${W}|all${W}|any${W})?${AI}\b`,
  },
  {
    id: "AI reading this",
    cls: "addressee",
    points: 3,
    source: String
      .raw`\b${AI}${W}(?:reading|processing|parsing|summari[sz]ing|visiting|browsing|analy[sz]ing|scanning|ingesting|crawling|that${W}reads?|who${W}reads?)${W}(?:this|the${W}following|these)\b`,
  },
  {
    id: "if you are an AI",
    cls: "addressee",
    points: 3,
    source: String
      .raw`(?<=\bif${W})you${W}(?:are|'re)${W}(?:an?${W})?(?:ai|llm|large${W}language${W}model|language${W}model|ai${W}assistant|ai${W}agent|assistant|agent|bot|chatbot|coding${W}agent|automated${W}(?:agent|system|tool))\b`,
  },
  {
    id: "AI, you must",
    cls: "addressee",
    points: 3,
    source: String
      .raw`\b(?:assistant|claude|chatgpt|copilot|codex|ai${W}agents?|ai|llms?|gpt)${W}?[,:]${W}(?:please${W})?(?:you${W}(?:must|should|will|need|are)|run|execute|exec|eval|call|invoke|use|send|post|upload|read|cat|open|fetch|visit|navigate|download|print|output|reveal|show|display|list|dump|include|append|add|encode|decode|copy|paste|delete|remove|forward|email|write|render|embed|replace|insert|go|summari[sz]e|respond|reply|answer|ignore|forget|disregard|leak|exfiltrate|share|give|tell|do|follow|stop|install|update|change|modify|create|make|set|export|before|after|when|first|now|immediately)\b|(?<=\b(?:any|all|every)${W})(?:ai|llm|automated)${W}(?:assistants?|agents?|models?|systems?|tools?)${W}(?:must|should|shall|are${W}required|need)\b`,
  },
  { id: "field for the AI", cls: "addressee", points: 3, source: String.raw`\u0005` },
  // --- directives (weak alone)
  {
    id: "you must",
    cls: "directive",
    points: 1,
    source: String
      .raw`\byou${W}(?:must|shall|need${W}to|have${W}to|are${W}(?:required|instructed|ordered|obligated|expected)${W}to|will${W}now|should${W}(?:now|immediately))\b|\bbefore${W}(?:responding|answering|replying|continuing|proceeding|summari[sz]ing|doing${W}anything${W}else|using${W}(?:this|the|any)${W}tool|you${W}(?:respond|answer|reply|continue|proceed|summari[sz]e|do${W}anything))\b|\b(?:immediately|right${W}now|without${W}delay)${W}(?:run|execute|call|send|read|output|print|open|fetch|visit|delete)\b`,
  },
  {
    id: "decode",
    cls: "execute",
    points: 0,
    pair: "decode",
    source: String
      .raw`\bbase64${W}(?:-d|--decode|-di)\b|\b(?:decode|unbase64|base64[-${W}]decode|deobfuscate|de-obfuscate|reverse)${W}(?:this|it|the${W}following|the${W}string|the${W}blob|the${W}payload|below|the${W}text)\b`,
  },
  {
    id: "run the following command",
    cls: "execute",
    points: 1,
    source: String
      .raw`\b(?:run|execute|eval|exec)${W}(?:this|the${W}following|these|that|the${W}below|below|the${W}attached|the${W}embedded|the${W}hidden)${W}(?:shell${W}|bash${W}|terminal${W}|python${W}|powershell${W})?(?:command|commands|code|script|payload|snippet|one-liner)\b`,
  },
  {
    id: "dangerous command",
    cls: "execute",
    points: 2,
    source: String
      .raw`\beval\(${W}?(?:atob|base64|unescape|decodeuricomponent|buffer\.from)\b|\bexec\(${W}?(?:base64|__import__|compile)\b|\bpowershell(?:\.exe)?${W}(?:-e|-enc|-encodedcommand)\b|/dev/tcp/|\bnc${W}(?:-e|-c)${W}|\brm${W}-rf${W}(?:/|~|\$home)|\bchmod${W}\+x${W}\S{1,80}${W}?&&${W}?\./`,
  },
  {
    id: "in your response",
    cls: "directive",
    points: 1,
    source: String
      .raw`(?<=\b(?:in|into|of|to|with)${W})your${W}(?:response|answer|reply|output|summary|next${W}message|final${W}answer|next${W}turn)\b|\b(?:respond|reply|answer)${W}(?:only${W})?with\b|\b(?:include|render|display|add|embed|show|insert|append|put|output|paste)${W}(?:this|the${W}following|the|an?)${W}(?:image|picture|badge|link|markdown|pixel|url|tracking${W}pixel)\b`,
  },
  // --- tool call
  {
    id: "call a tool",
    cls: "tool_call",
    points: 2,
    source: String
      .raw`\b(?:call|invoke|use|run|trigger|execute|activate)${W}(?:the${W}|your${W}|a${W})?["'\x60\u0001]{0,2}(?!(?:this|that|these|those|an?|any|some|which|each|every|one|other|same|another|it)${W})[a-z][\w.-]{1,40}["'\x60\u0002]{0,2}${W}(?:tool|mcp${W}tool|function${W}call)\b|\b(?:call|invoke|use)${W}(?:the${W}|your${W})?(?:bash|shell|terminal|computer|browser|file${W}system|filesystem|code${W}execution|web${W}fetch|fetch|git|github|email|mcp)${W}tool\b`,
  },
  {
    id: "tool call markup",
    cls: "tool_call",
    points: 1,
    source: String
      .raw`<(?:function_calls|invoke${W}name|tool_use|tool_call)\b|\btool_calls?\b|\bfunction_call\b`,
  },
  // --- disclose the prompt
  {
    id: "output your system prompt",
    cls: "disclose_prompt",
    points: 3,
    source: String
      .raw`\b(?:print|reveal|show|output|repeat|display|leak|dump|tell${W}me|write${W}out|recite|share|send|include|copy|paste|list|give${W}me|return|echo|disclose|expose|summari[sz]e)${W}(?:me${W})?(?:back${W})?(?:all${W})?(?:of${W})?(?:the${W}|your${W})(?:full${W}|entire${W}|exact${W}|original${W}|hidden${W}|initial${W}|complete${W}|verbatim${W}|current${W})?(?:system${W}(?:prompt|message|instructions?)|initial${W}(?:prompt|instructions)|hidden${W}(?:prompt|instructions)|(?:tool|function)${W}(?:definitions|schemas?|specs|specifications|descriptions|list)|(?:instructions|prompt)${W}(?:you${W}were${W}given|above)|developer${W}(?:message|instructions)|conversation${W}history|chat${W}history|previous${W}messages|context${W}window)\b`,
  },
  // --- exfiltrate: a link or image whose URL is to be filled in
  {
    id: "URL to fill in",
    cls: "exfiltrate",
    points: 2,
    source: String.raw`\u0004sink\u0004`,
  },
  // --- conceal
  {
    id: "do not tell the user",
    cls: "conceal",
    points: 2,
    source: String
      .raw`\b(?:do${W}not|don't|dont|never|without)${W}(?:tell(?:ing)?|inform(?:ing)?|alert(?:ing)?|notify(?:ing)?|mention(?:ing)?|reveal(?:ing)?${W}(?:this${W}|it${W})?to|let(?:ting)?|show(?:ing)?|ask(?:ing)?|confirm(?:ing)?${W}with|warn(?:ing)?)${W}(?:this${W}|it${W}|anything${W})?(?:to${W})?(?:the${W}|your${W})?(?:user|human|operator|developer|owner|anyone)\b`,
  },
  {
    id: "silently",
    cls: "conceal",
    points: 2,
    source: String
      .raw`\b(?:silently|secretly|quietly|covertly|discreetly|stealthily|invisibly)${W}(?:run|execute|send|upload|post|call|add|include|append|copy|read|exfiltrate|forward|install|fetch|download|modify|delete|insert)\b|\bkeep${W}(?:this|it)${W}(?:secret|hidden|between${W}us|confidential)\b|(?<=\bthe${W})user${W}(?:must|should|will)${W}(?:not|never)${W}(?:know|see|notice|find${W}out)\b|\b(?:hide|conceal)${W}(?:this|it|these${W}steps|the${W}(?:command|request|action)s?)${W}from${W}(?:the${W})?(?:user|human|operator)\b`,
  },
  // --- navigate (weak)
  {
    id: "open a URL",
    cls: "navigate",
    points: 1,
    source: String
      .raw`\b(?:visit|open|navigate${W}to|go${W}to|browse${W}to|fetch|load|request|download|access)${W}(?:the${W}(?:url|page|link|site)${W})?:?${W}?https?://`,
  },
  // --- discussion
  {
    id: "discussion",
    cls: "discussion",
    points: 0,
    source: String
      .raw`\b(?:prompt[-${W}]injections?|injection${W}attacks?|jailbreak(?:s|ing)?|attackers?|adversar(?:y|ies|ial)|malicious|exploits?|payloads?|red[-${W}]team(?:ing|ers)?|researchers?|(?<![./@-])examples?|e\.g\.|such${W}as|instance|vulnerab(?:le|ility|ilities)|phrases?|defen[cs]es?|mitigat(?:e|es|ion|ions)|classifiers?|guardrails?|owasp|cve-\d{4})\b`,
  },
];

/** Case-sensitive atoms (shouting that means something only in capitals). */
export const CASED_ATOMS: readonly Atom[] = [
  {
    id: "SYSTEM:",
    cls: "authority",
    points: 3,
    source: String
      .raw`\b(?:SYSTEM|ADMIN|ADMINISTRATOR|ROOT)(?:${W}(?:NOTICE|MESSAGE|OVERRIDE|PROMPT|INSTRUCTIONS?|DIRECTIVE|ALERT|UPDATE))?${W}?:`,
  },
];

/**
 * The halves of combinations, matched in a pass of their own so that they may overlap the
 * specific atoms: a verb (its roles looked up by {@linkcode verbRoles}), a pipe into an
 * interpreter, a secret file or word, the data sent, the target URL or address.
 */
export const WORD_ATOMS: readonly Atom[] = [
  {
    id: "verb",
    cls: "directive",
    points: 0,
    source: String
      .raw`\b(?:curl|wget|iwr|invoke-webrequest|invoke-restmethod|irm|run|execute|eval|evaluate|exec|read|cat|print|output|show|dump|reveal|display|send|upload|post|include|paste|exfiltrate|leak|share|give|email|forward|encode|type${W}out|tell${W}me|what${W}is|what${W}are|retrieve|collect|gather|grab|extract|list|copy|attach|append|transmit|submit|beacon|put|report|add)\b`,
  },
  {
    id: "pipe to a shell",
    cls: "execute",
    points: 0,
    pair: "pipe",
    source: String
      .raw`\|${W}?(?:sudo${W})?(?:(?:ba|z|da|k|fi)?sh|python[23]?|perl|ruby|node|iex|invoke-expression|pwsh|powershell)\b`,
  },
  { id: "secret file", cls: "read_secrets", points: 2, pair: "secret", source: SECRET_PATH },
  { id: "secret", cls: "read_secrets", points: 1, pair: "secret", source: SECRET_WORD },
  {
    id: "URL",
    cls: "exfiltrate",
    points: 0,
    pair: "target",
    source: String.raw`https?://|(?<=[\w.+-])@[\w-]{1,64}\.[a-z]{2,}`,
  },
];

/**
 * Atoms that start at a sentence, line or list-item start, matched by a pass of their own:
 * an imperative (weak alone; only the prefix is matched, the verb is looked ahead, so the verb's
 * own atoms still match) and a speaker label ("Assistant:").
 */
export const LINE_ATOMS: readonly Atom[] = [{
  id: "imperative",
  cls: "directive",
  points: 1,
  source: String
    .raw`(?<=(?:^|[.!?:;\u0001"]${W}?|\n(?:[-+]${W}|\d{1,3}[.)]${W})?|\bthen${W}))(?:please${W})?(?:run|execute|exec|eval|call|invoke|send|post|upload|read|cat|open|fetch|visit|navigate|download|print|output|reveal|show|display|list|dump|include|append|encode|decode|paste|delete|forward|email|write|render|embed|replace|insert|go|summari[sz]e|respond|reply)\b`,
}, {
  id: "speaker label",
  cls: "directive",
  points: 1,
  source: String
    .raw`(?<=(?:^|\n|[.!?]${W}))(?:assistant|ai|claude|chatgpt|llm|ai${W}agents?|agent)${W}?:`,
}];

/** What a verb can start: a download, running something, revealing, sending. */
export const ROLE = { fetch: 1, run: 2, reveal: 4, send: 8 } as const;

const ROLES: Record<string, number> = {};
for (const w of ["curl", "wget", "iwr", "invoke-webrequest", "invoke-restmethod", "irm"]) {
  ROLES[w] = ROLE.fetch;
}
for (const w of ["run", "execute", "eval", "evaluate", "exec"]) ROLES[w] = ROLE.run;
for (
  const w of [
    "read",
    "cat",
    "print",
    "output",
    "show",
    "dump",
    "reveal",
    "display",
    "paste",
    "share",
    "give",
    "encode",
    "type out",
    "tell me",
    "what is",
    "what are",
    "retrieve",
    "collect",
    "gather",
    "grab",
    "extract",
    "list",
    "copy",
  ]
) ROLES[w] = ROLE.reveal;
for (const w of ["transmit", "submit", "beacon", "put", "report", "add"]) ROLES[w] = ROLE.send;
for (
  const w of ["send", "upload", "post", "include", "exfiltrate", "leak", "email", "forward"]
) ROLES[w] = ROLE.reveal | ROLE.send;
for (const w of ["attach", "append"]) ROLES[w] = ROLE.reveal | ROLE.send;

/** The roles of a matched verb (`ROLE` bits). */
export function verbRoles(word: string): number {
  return ROLES[word.toLowerCase().replace(/\s+/g, " ")] ?? 0;
}

/**
 * The literal starts of each atom, lower case: every match of the atom begins with one of them
 * (or at the text's start, for a `^`). `signals.ts` searches these first (one table
 * walk) and tries the atoms only where one begins. The equivalence with a full regex pass is a
 * test (`signals_test.ts`).
 */
export const STARTS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.entries({
    "ignore previous instructions": "ignore disregard forget skip override bypass discard abandon",
    "forget everything above": "ignore disregard forget",
    "new instructions": "new updated real actual true revised overriding your",
    "stop what you are doing": "stop cease abort halt pause",
    "you are now unrestricted": "you do",
    "from now on": "from henceforth",
    "[SYSTEM] tag": "[ <",
    "administrator notice": "admin operator",
    "priority directive": "new high top urgent critical highest maximum priority",
    "elevated privileges": "you granted",
    "mode enabled": "admin developer god debug maintenance sudo jailbreak",
    "message from the operator": "message notice instruction directive update order",
    "note to the AI":
      "dear attention note notice memo psa hey hello hi message instruction important warning",
    "AI reading this":
      "ai a.i. llm gpt chatgpt claude gemini copilot codex large language coding autonomous chatbot",
    "if you are an AI": "you",
    "AI, you must": "assistant claude chatgpt copilot codex ai llm gpt automated",
    "field for the AI": "\u0005",
    "you must": "you before immediately right without",
    "decode": "base64 decode unbase64 deobfuscate de-obfuscate reverse",
    "run the following command": "run execute eval exec",
    "dangerous command": "eval( exec( powershell /dev/tcp/ nc rm chmod",
    "in your response":
      "your respond reply answer include render display add embed show insert append put output paste",
    "call a tool": "call invoke use run trigger execute activate",
    "tool call markup": "< tool_call function_call",
    "output your system prompt":
      "print reveal show output repeat display leak dump tell write recite share send include copy paste list give return echo disclose expose summari",
    "URL to fill in": "\u0004",
    "do not tell the user": "do don't dont never without",
    "silently":
      "silently secretly quietly covertly discreetly stealthily invisibly keep user hide conceal",
    "open a URL": "visit open navigate go browse fetch load request download access",
    "discussion":
      "prompt injection jailbreak attacker adversar malicious exploit payload red researcher example e.g. such instance vulnerab phrase defen mitigat classifier guardrail owasp cve-",
    "verb":
      "curl wget iwr invoke- irm run execute eval exec read cat print output show dump reveal display send upload post include paste exfiltrate leak share give email forward encode type tell what retrieve collect gather grab extract list copy attach append transmit submit beacon put report add",
    "pipe to a shell": "|",
    "secret file":
      "/etc/ ~/.ssh $home/.ssh .ssh/ id_ .aws/ .npmrc .netrc .pypirc .git-credentials .docker/ .kube/ /proc/self/ .bash_history .env",
    "secret":
      "api access secret auth bearer session password passphrase credentials private ssh environment env tokens",
    "URL": "http @",
    "imperative":
      "run execute exec eval call invoke send post upload read cat open fetch visit navigate download print output reveal show display list dump include append encode decode paste delete forward email write render embed replace insert go summari respond reply please",
    "speaker label": "assistant ai claude chatgpt llm agent",
    "SYSTEM:": "system admin root",
  }).map(([id, starts]) => [id, starts.split(" ")]),
);
