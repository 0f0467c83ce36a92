/**
 * Checks the commands written in the docs against the tools' own `--help`: which subcommands and
 * flags exist, and which flags take a value. Pure functions over text (the test runs each --help
 * once and hands the output in), so they are tested with small fixtures too.
 */

/** A piece of shell from a Markdown file: one line of a fenced block, or an inline code span. */
export interface Snippet {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

/** Lines of fenced code blocks (continuation lines joined) and inline code spans elsewhere. */
export function codeSnippets(file: string, markdown: string): Snippet[] {
  const out: Snippet[] = [];
  const lines = markdown.split("\n");
  let fence: string | undefined;
  let pending: { line: number; text: string } | undefined;
  lines.forEach((raw, i) => {
    const fenceMatch = /^\s*(```+|~~~+)/.exec(raw);
    if (fenceMatch) {
      if (fence === undefined) fence = fenceMatch[1];
      else if (raw.trim().startsWith(fence)) fence = undefined;
      pending = undefined;
      return;
    }
    if (fence !== undefined) {
      const text = pending ? `${pending.text} ${raw.trim()}` : raw;
      const start = pending?.line ?? i + 1;
      if (/\\\s*$/.test(raw)) {
        pending = { line: start, text: text.replace(/\\\s*$/, "") };
        return;
      }
      pending = undefined;
      out.push({ file, line: start, text });
      return;
    }
    for (const m of raw.matchAll(/`([^`]+)`/g)) out.push({ file, line: i + 1, text: m[1] });
  });
  return out;
}

/** Options of a help text: `--flag` (and its short alias) -> whether it takes a value. */
export type Options = Map<string, boolean>;

/**
 * The options a help text lists: lines like `  --environment NAME   ...`, `  -h, --help   ...`,
 * `  --dry-run            ...` (an upper-case word after the flag is its value).
 */
export function helpOptions(help: string): Options {
  const options: Options = new Map();
  for (const m of help.matchAll(/^\s+(?:(-[a-zA-Z]),\s+)?(--[a-z][a-z0-9-]*)(?:[ =]([A-Z][A-Z0-9_|]*|terraform\|tofu))?(?=\s|$)/gm)) {
    const takesValue = m[3] !== undefined;
    options.set(m[2], takesValue);
    if (m[1]) options.set(m[1], takesValue);
  }
  return options;
}

/** wg-client's usage: each subcommand's synopsis line, e.g. `  add NAME [--public-key KEY] [--qr]`. */
export function wgClientCommands(help: string): Map<string, Options> {
  const commands = new Map<string, Options>();
  for (const m of help.matchAll(/^ {2}([a-z]+)\b(.*)$/gm)) {
    const options: Options = new Map([["--help", false], ["-h", false]]);
    for (const f of m[2].matchAll(/\[(--[a-z][a-z-]*)(?: ([A-Z]+))?\]/g)) options.set(f[1], f[2] !== undefined);
    commands.set(m[1], options);
  }
  return commands;
}

/** local-cluster's commands: `up`, `client add`, `kill-server`... from the Commands: section. */
export function localClusterCommands(help: string): Set<string> {
  const section = /^Commands:\n([\s\S]*?)\n\n/m.exec(help)?.[1] ?? "";
  const commands = new Set<string>();
  for (const m of section.matchAll(/^ {2}([a-z][a-z-]*)(?: ([a-z]+)(?=\s))?/gm)) commands.add(m[2] ? `${m[1]} ${m[2]}` : m[1]);
  return commands;
}

/** An invocation of a tool found in a snippet: its arguments, up to the end of the command. */
export interface Invocation extends Snippet {
  readonly tool: string;
  readonly args: string[];
}

export interface ToolPattern {
  readonly tool: string;
  /** Matches the command itself; the arguments follow the match. */
  readonly pattern: RegExp;
}

export const TOOLS: readonly ToolPattern[] = [
  { tool: "deploy.ts", pattern: /(?<![\w-])(?:[\w./-]*\/)?scripts\/deploy\.ts(?=\s|$)|\bnpm run (?:--silent )?deploy(?: --)?(?=\s|$)/g },
  { tool: "local-cluster.ts", pattern: /(?<![\w-])(?:[\w./-]*\/)?scripts\/local-cluster\.ts(?=\s|$)|\bnpm run (?:--silent )?local-cluster(?: --)?(?=\s|$)/g },
  { tool: "diagram.ts", pattern: /(?<![\w-])(?:[\w./-]*\/)?scripts\/diagram\.ts(?=\s|$)|\bnpm run (?:--silent )?diagram(?: --)?(?=\s|$)/g },
  { tool: "wg-client", pattern: /(?<![\w.-])(?:[\w./-]*\/)?wg-client(?=\s|$)/g },
];

/**
 * The words of a shell command up to where it ends: a shell operator (&& || ; | > <), a comment, a
 * closing parenthesis or backtick, or a quote that is never closed (the command was itself inside a
 * quoted string, e.g. JSON). Quoted strings and $(...) are one word each.
 */
export function shellWords(rest: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  const flush = () => {
    if (inWord) words.push(word);
    word = "";
    inWord = false;
  };
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    if (/\s/.test(c)) {
      flush();
      continue;
    }
    if (c === "'" || c === '"') {
      const close = rest.indexOf(c, i + 1);
      if (close < 0) break;
      word += rest.slice(i + 1, close);
      inWord = true;
      i = close;
      continue;
    }
    if (c === "$" && rest[i + 1] === "(") {
      const close = rest.indexOf(")", i + 2);
      if (close < 0) break;
      word += rest.slice(i, close + 1);
      inWord = true;
      i = close;
      continue;
    }
    if (";|&<>)`".includes(c) || (c === "#" && !inWord)) break;
    word += c;
    inWord = true;
  }
  flush();
  return words;
}

/** The quote character a position of a line is inside of, if any ('...' or "..."). */
function openQuote(text: string, end: number): string | undefined {
  let quote: string | undefined;
  for (let i = 0; i < end; i++) {
    const c = text[i];
    if (quote === undefined && (c === "'" || c === '"')) quote = c;
    else if (c === quote) quote = undefined;
  }
  return quote;
}

/** Where a shell comment starts (a # at the start of a word, outside quotes), or the length. */
export function commentStart(text: string): number {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "#" && (i === 0 || /\s/.test(text[i - 1])) && openQuote(text, i) === undefined) return i;
  }
  return text.length;
}

export function invocations(snippets: readonly Snippet[], tools: readonly ToolPattern[] = TOOLS): Invocation[] {
  const out: Invocation[] = [];
  for (const s of snippets) {
    const code = s.text.slice(0, commentStart(s.text));
    for (const { tool, pattern } of tools) {
      for (const m of code.matchAll(pattern)) {
        const start = (m.index ?? 0) + m[0].length;
        let rest = code.slice(start);
        // A command inside a quoted string ('./scripts/deploy.ts --help' given to hyperfine) ends
        // where that string does.
        const quote = openQuote(code, m.index ?? 0);
        if (quote !== undefined && rest.includes(quote)) rest = rest.slice(0, rest.indexOf(quote));
        out.push({ ...s, tool, args: shellWords(rest) });
      }
    }
  }
  return out;
}

/** Placeholders stand for any argument: NAME, <KEY>, N, ..., [options]. */
function isPlaceholder(arg: string): boolean {
  return /^(\.\.\.|…|<[^>]*>|\[.*\]|[A-Z][A-Z_|]*)$/.test(arg);
}

/** Walks flags and positionals: unknown flags, and a missing value, are problems. */
function checkFlags(args: readonly string[], options: Options, allowPositionals: boolean): { problems: string[]; positionals: string[] } {
  const problems: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") break; // the rest belongs to another command (client exec -- CMD)
    if (arg.startsWith("-") && arg !== "-") {
      const [flag, inline] = arg.split("=", 2);
      if (!options.has(flag)) {
        problems.push(`unknown option ${flag}`);
        continue;
      }
      if (options.get(flag) && inline === undefined) {
        if (i + 1 >= args.length) problems.push(`${flag} needs a value`);
        i++;
      }
      continue;
    }
    if (!allowPositionals && !isPlaceholder(arg)) problems.push(`unexpected argument ${arg}`);
    positionals.push(arg);
  }
  return { problems, positionals };
}

export interface Helps {
  readonly deploy: Options;
  readonly diagram: Options;
  readonly wgClient: Map<string, Options>;
  readonly localCluster: { readonly commands: Set<string>; readonly global: Options; readonly perCommand: Map<string, Options> };
}

/** The local-cluster command an invocation names ("client add", "kill-server"), if any. */
export function localClusterCommand(args: readonly string[], commands: Set<string>): string | undefined {
  const words = args.filter((a) => !a.startsWith("-"));
  if (words.length >= 2 && commands.has(`${words[0]} ${words[1]}`)) return `${words[0]} ${words[1]}`;
  return words[0];
}

/** Problems with one invocation, or none. */
export function checkInvocation(inv: Invocation, helps: Helps): string[] {
  const args = inv.args;
  if (args.length === 0 || args.every((a) => a === "..." || a === "…")) return [];
  switch (inv.tool) {
    case "deploy.ts":
      return checkFlags(args, helps.deploy, false).problems;
    case "diagram.ts":
      return checkFlags(args, helps.diagram, false).problems;
    case "wg-client": {
      if (args[0] === "--help" || args[0] === "-h") return [];
      const options = helps.wgClient.get(args[0]);
      if (!options) return isPlaceholder(args[0]) ? [] : [`unknown command ${args[0]}`];
      return checkFlags(args.slice(1), options, true).problems;
    }
    case "local-cluster.ts": {
      const { commands, global, perCommand } = helps.localCluster;
      const command = localClusterCommand(args, commands);
      if (command === undefined) return checkFlags(args, global, false).problems;
      if (isPlaceholder(command)) return [];
      const groupHelp = [...commands].some((c) => c.startsWith(`${command} `)) && args.some((a) => a === "--help" || a === "-h");
      if (groupHelp) return checkFlags(args, global, true).problems; // e.g. client --help
      if (!commands.has(command)) {
        return [commands.has(`${command} add`) ? `"${command}" needs a subcommand` : `unknown command ${command}`];
      }
      const options = new Map([...global, ...(perCommand.get(command) ?? [])]);
      return checkFlags(args, options, true).problems;
    }
    default:
      return [`no checker for ${inv.tool}`];
  }
}

/** `journalctl -u UNIT` / `--unit UNIT` / `systemctl VERB wg-ha-*`: the unit names, without .service. */
export function unitNames(snippet: string): string[] {
  const units: string[] = [];
  for (const m of snippet.matchAll(/\bjournalctl\b([^|;&`]*)/g)) {
    for (const u of m[1].matchAll(/(?:^|\s)(?:-u|--unit)(?:\s+|=)([^\s'"]+)/g)) units.push(u[1]);
  }
  for (const m of snippet.matchAll(/\bsystemctl\s+(?:status|start|stop|restart|reload|enable|disable|is-active|is-failed|cat|show)\b([^|;&`#]*)/g)) {
    for (const u of m[1].trim().split(/\s+/)) if (/^wg-ha/.test(u)) units.push(u);
  }
  return units.map((u) => u.replace(/\.service$/, ""));
}
