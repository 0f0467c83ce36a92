/**
 * What every entry point shares (main.ts, scripts/*.ts, bench/*.ts): the exit codes, the errors
 * that end a run with one clear line, strict flag parsing, value checks for flags, colour only on
 * a terminal, and runMain(), which turns a main function's result or error into an exit code and
 * ends quietly when the reader of stdout goes away (`... | head`).
 *
 * node:* only, so `--help` stays fast; commands load their heavy modules after parsing.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** 0 ok, 1 failed or refused, 2 usage error; 128 + n after signal n. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A mistake in the command line itself: `error: <message>`, a pointer to --help, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** An expected failure (refusal, missing tool, failed step): `error: <message>`, exit 1 (or exitCode), no stack. */
export class Failure extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
    this.name = "Failure";
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * node:util parseArgs in strict mode: unknown flags, a missing value and (unless allowed)
 * positionals are UsageErrors with node's message minus its advice about `--`.
 */
export function parseFlags<O extends Options>(args: readonly string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals });
  } catch (error) {
    const message = (error as { message?: unknown })?.message;
    if (typeof message !== "string") throw error;
    throw new UsageError(message.split(". To specify a positional argument")[0].replace(/\.$/, ""));
  }
}

/** A flag value check: a whole number from min to max, else a UsageError naming the flag. */
export function integer(min: number, max: number) {
  return (value: string, what: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`${what} must be a whole number from ${min} to ${max}, not "${value}"`);
    return n;
  };
}

/** A flag value check: seconds (fractions allowed) from min to max. */
export function seconds(min: number, max: number) {
  return (value: string, what: string): number => {
    const n = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value) || n < min || n > max) throw new UsageError(`${what} must be a number of seconds from ${min} to ${max}, not "${value}"`);
    return n;
  };
}

/** Colour on a terminal only; NO_COLOR (any value) turns it off, FORCE_COLOR=0 too, other FORCE_COLOR on. */
export function colorEnabled(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== "0" && env.FORCE_COLOR !== "false";
  return stream.isTTY === true;
}

/** Styles for one output stream; renderers take a Paint and never decide about colour themselves. */
export interface Paint {
  readonly warning: (text: string) => string;
  readonly heading: (text: string) => string;
  readonly dim: (text: string) => string;
  readonly ok: (text: string) => string;
}

const same = (text: string) => text;
export const PLAIN: Paint = { warning: same, heading: same, dim: same, ok: same };

/** ANSI SGR: on, and the code that ends it (as chalk writes them). */
const sgr = (on: string, off: string) => (text: string) => `\u001b[${on}m${text}\u001b[${off}m`;

/** The styles for a stream whose colour decision is `on` (colorEnabled). */
export function painter(on: boolean): Paint {
  if (!on) return PLAIN;
  const bold = sgr("1", "22");
  return { warning: (text) => bold(sgr("31", "39")(text)), heading: bold, dim: sgr("2", "22"), ok: sgr("32", "39") };
}

/** An error whose lines are all the user needs (ConfigError: one per problem). */
interface ProblemList {
  readonly problems: readonly string[];
}

const hasProblems = (e: unknown): e is Error & ProblemList => e instanceof Error && Array.isArray((e as Partial<ProblemList>).problems);

/** Errors that mean a bug in our code: reported with their stack. */
const BUGS = new Set(["TypeError", "ReferenceError", "RangeError", "SyntaxError"]);

/** Control characters other than newline and tab are shown escaped, never written raw. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/**
 * How a run ends on an error: usage errors exit 2 with a pointer to --help; other errors print
 * `error: <message>` (one line per problem of a ConfigError) and exit 1, or their exitCode
 * (Failure); a bug (TypeError, ...) shows its stack, as every error does with WG_HA_DEBUG=1.
 * Returns the exit code.
 */
export function reportError(error: unknown, program: string, err: NodeJS.WritableStream = process.stderr, env = process.env): number {
  const write = (line: string) => err.write(`${printable(line)}\n`);
  if (error instanceof UsageError) {
    write(`error: ${error.message}`);
    write(`Run ${program} --help for usage.`);
    return EXIT.usage;
  }
  if (hasProblems(error)) {
    for (const problem of error.problems) write(`error: ${problem}`);
    return EXIT.failed;
  }
  if (!(error instanceof Error)) {
    write(`error: ${String(error)}`);
    return EXIT.failed;
  }
  write(env.WG_HA_DEBUG === "1" || BUGS.has(error.name) ? (error.stack ?? error.message) : `error: ${error.message}`);
  return error instanceof Failure ? error.exitCode : EXIT.failed;
}

/** Ends the process quietly when a reader closes our stdout or stderr early (EPIPE). */
function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") throw error;
      process.exit(process.exitCode ?? EXIT.ok);
    });
  }
}

/**
 * Runs an entry point's main with its argv (without node and the script) and sets the exit code
 * from its result (undefined: 0) or its error (reportError). `program` is how the user runs it
 * (`./scripts/deploy.ts`), for the pointer to --help.
 */
export function runMain(program: string, main: (argv: readonly string[]) => Promise<number | void> | number | void): void {
  endQuietlyOnClosedPipe();
  Promise.resolve()
    .then(() => main(process.argv.slice(2)))
    .then(
      (code) => (process.exitCode = code ?? EXIT.ok),
      (error: unknown) => (process.exitCode = reportError(error, program)),
    );
}

/** Aligned two-column help lines: `  --flag VALUE   what it does`. */
export function helpRows(rows: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...rows.map(([a]) => a.length)) + 2;
  return rows.map(([a, b]) => `  ${a.padEnd(width)}${b}`).join("\n");
}
