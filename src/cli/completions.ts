import { UsageError } from "../lib/errors.ts";
import { type CommandSpec, GLOBAL_OPTIONS } from "./command.ts";

/** Shells `completions` knows. */
export const SHELLS = ["bash", "zsh", "fish"] as const;

/** A command's name and its single-word aliases (`list active` is handled by `list`). */
function wordsOf(c: CommandSpec): string[] {
  return [c.name, ...(c.aliases ?? []).filter((a) => /^[a-z][a-z0-9-]*$/.test(a))];
}

/** What a positional completes to. */
function positionalWords(spec: CommandSpec): "agents" | "shells" | "none" {
  const first = spec.positionals[0]?.name;
  if (first === "agent") return "agents";
  if (first === "shell") return "shells";
  return "none";
}

function optionWords(spec: CommandSpec): string[] {
  const names = Object.keys({ ...spec.options, ...GLOBAL_OPTIONS });
  return names.map((n) => `--${n}`);
}

function bashScript(commands: readonly CommandSpec[]): string {
  const names = commands.flatMap(wordsOf);
  const cases = commands.map((c) => {
    const words = wordsOf(c).join("|");
    return `    ${words}) opts="${optionWords(c).join(" ")}"; pos=${positionalWords(c)} ;;`;
  });
  return `# bot-bottle bash completion. Install: bot-bottle completions bash > ~/.local/share/bash-completion/completions/bot-bottle
_bot_bottle_names() {
  local f dirs="\${BOT_BOTTLE_HOME:-$HOME/.bot-bottle}/$1"
  [ "$1" = agents ] && dirs="$dirs .bot-bottle/agents"
  for d in $dirs; do
    for f in "$d"/*.md; do [ -e "$f" ] && basename "$f" .md; done
  done
}
_bot_bottle() {
  local cur prev cmd i opts pos
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) ;; *) cmd="\${COMP_WORDS[i]}"; break ;; esac
  done
  if [ -z "$cmd" ]; then
    COMPREPLY=($(compgen -W "${names.join(" ")} --help --version" -- "$cur"))
    return
  fi
  if [ "$prev" = "--bottle" ]; then
    COMPREPLY=($(compgen -W "$(_bot_bottle_names bottles)" -- "$cur"))
    return
  fi
  case "$cmd" in
${cases.join("\n")}
    *) opts=""; pos=none ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [ "$pos" = agents ]; then
    COMPREPLY=($(compgen -W "$(_bot_bottle_names agents)" -- "$cur"))
  elif [ "$pos" = shells ]; then
    COMPREPLY=($(compgen -W "${SHELLS.join(" ")}" -- "$cur"))
  fi
}
complete -F _bot_bottle bot-bottle
`;
}

function zshScript(commands: readonly CommandSpec[]): string {
  return `#compdef bot-bottle
# bot-bottle zsh completion (the bash completion through bashcompinit).
# Install: bot-bottle completions zsh > "\${fpath[1]}/_bot-bottle", or eval it in ~/.zshrc.
autoload -U +X bashcompinit && bashcompinit
${bashScript(commands).split("\n").slice(1).join("\n")}`;
}

function fishQuote(text: string): string {
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

function fishScript(commands: readonly CommandSpec[]): string {
  const lines = [
    "# bot-bottle fish completion. Install: bot-bottle completions fish > ~/.config/fish/completions/bot-bottle.fish",
    "function __bot_bottle_names",
    "    set -l home $HOME/.bot-bottle",
    "    set -q BOT_BOTTLE_HOME; and set home $BOT_BOTTLE_HOME",
    "    set -l dirs $home/$argv[1]",
    "    test $argv[1] = agents; and set -a dirs .bot-bottle/agents",
    "    for d in $dirs",
    "        for f in $d/*.md",
    "            basename $f .md",
    "        end",
    "    end",
    "end",
    "complete -c bot-bottle -f",
  ];
  for (const c of commands) {
    for (const name of wordsOf(c)) {
      lines.push(
        `complete -c bot-bottle -n __fish_use_subcommand -a ${name} -d ${fishQuote(c.summary)}`,
      );
    }
    const when = `'__fish_seen_subcommand_from ${wordsOf(c).join(" ")}'`;
    for (const [name, o] of Object.entries({ ...c.options, ...GLOBAL_OPTIONS })) {
      const value = o.type === "string" ? " -r" : "";
      const words = name === "bottle" ? " -a '(__bot_bottle_names bottles)'" : "";
      const short = o.short ? ` -s ${o.short}` : "";
      lines.push(
        `complete -c bot-bottle -n ${when} -l ${name}${short}${value}${words} -d ${
          fishQuote(o.description)
        }`,
      );
    }
    const pos = positionalWords(c);
    if (pos === "agents") {
      lines.push(`complete -c bot-bottle -n ${when} -a '(__bot_bottle_names agents)'`);
    } else if (pos === "shells") {
      lines.push(`complete -c bot-bottle -n ${when} -a '${SHELLS.join(" ")}'`);
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * The completion script for a shell, generated from the command specs.
 *
 * @throws {UsageError} for a shell other than bash, zsh or fish.
 */
export function completionScript(shell: string, commands: readonly CommandSpec[]): string {
  switch (shell) {
    case "bash":
      return bashScript(commands);
    case "zsh":
      return zshScript(commands);
    case "fish":
      return fishScript(commands);
    default:
      throw new UsageError(`Cannot complete for shell "${shell}": unsupported`, {
        hint: `Use one of: ${SHELLS.join(", ")}`,
      });
  }
}

/** `bot-bottle completions`: print a shell completion script. */
export const completionsCommand: CommandSpec = {
  name: "completions",
  summary: "Print a completion script for bash, zsh or fish.",
  positionals: [{ name: "shell", required: true, description: "bash | zsh | fish" }],
  options: {},
  async run({ io, positionals, commands }) {
    io.out(completionScript(positionals[0], await commands()));
    return 0;
  },
};
