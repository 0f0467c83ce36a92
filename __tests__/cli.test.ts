/** scripts/lib/cli.ts: what every entry point shares (exit codes, error lines, flags, colour, EPIPE). */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { colorEnabled, EXIT, Failure, integer, painter, parseFlags, PLAIN, reportError, seconds, UsageError } from "../scripts/lib/cli";

function report(error: unknown, env: NodeJS.ProcessEnv = {}): { code: number; lines: string[] } {
  let text = "";
  const code = reportError(error, "./tool.ts", { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream, env);
  return { code, lines: text.trimEnd().split("\n") };
}

describe("reportError: one clear line, the right exit code", () => {
  test("a usage error: the message, a pointer to --help, exit 2", () => {
    expect(report(new UsageError("--environment NAME is required"))).toEqual({
      code: EXIT.usage,
      lines: ["error: --environment NAME is required", "Run ./tool.ts --help for usage."],
    });
  });
  test("an error with problems (ConfigError): one error line per problem, exit 1", () => {
    const config = Object.assign(new Error("x"), { name: "ConfigError", problems: ["a.tfvars:1: bad", "a.tfvars:2: worse"] });
    expect(report(config)).toEqual({ code: EXIT.failed, lines: ["error: a.tfvars:1: bad", "error: a.tfvars:2: worse"] });
  });
  test("a Failure: its message and its exit code (130 after SIGINT)", () => {
    expect(report(new Failure("refusing to apply"))).toEqual({ code: 1, lines: ["error: refusing to apply"] });
    expect(report(new Failure("interrupted (SIGINT)", 130))).toEqual({ code: 130, lines: ["error: interrupted (SIGINT)"] });
  });
  test("any other error is one line, no stack; a bug (TypeError) or WG_HA_DEBUG=1 shows the stack", () => {
    expect(report(new Error("local cluster up failed"))).toEqual({ code: 1, lines: ["error: local cluster up failed"] });
    expect(report(new TypeError("x is undefined")).lines[1]).toMatch(/^\s+at /);
    expect(report(new Error("boom"), { WG_HA_DEBUG: "1" }).lines[1]).toMatch(/^\s+at /);
    expect(report("a string")).toEqual({ code: 1, lines: ["error: a string"] });
  });
  test("control characters in a message are escaped, never written raw", () => {
    expect(report(new Failure("bad name \u001b[2J\u0007")).lines).toEqual(["error: bad name \\x1b[2J\\x07"]);
  });
});

describe("flags", () => {
  test("unknown flags and missing values are usage errors with node's message minus its advice", () => {
    expect(() => parseFlags(["--bogus"], { help: { type: "boolean" } })).toThrow(new UsageError("Unknown option '--bogus'"));
    expect(() => parseFlags(["--runs"], { runs: { type: "string" } })).toThrow(UsageError);
    expect(() => parseFlags(["extra"], {})).toThrow("Unexpected argument 'extra'. This command does not take positional arguments");
    expect(parseFlags(["a", "--x"], { x: { type: "boolean" } }, true)).toMatchObject({ values: { x: true }, positionals: ["a"] });
  });
  test.each([
    [integer(1, 10), "3", 3],
    [seconds(0.2, 300), "0.5", 0.5],
  ])("value checks accept what is in range", (check, value, expected) => expect(check(value, "--n")).toBe(expected));
  test.each([
    [integer(1, 10), "0", "--n must be a whole number from 1 to 10, not \"0\""],
    [integer(1, 10), "2.5", "--n must be a whole number from 1 to 10, not \"2.5\""],
    [seconds(0.2, 300), "0.1", "--n must be a number of seconds from 0.2 to 300, not \"0.1\""],
    [seconds(0.2, 300), "1e3", "--n must be a number of seconds from 0.2 to 300, not \"1e3\""],
  ])("value checks name the flag and the range", (check, value, message) => expect(() => check(value, "--n")).toThrow(new UsageError(message)));
});

describe("colour", () => {
  test.each([
    [true, {}, true],
    [false, {}, false],
    [true, { NO_COLOR: "1" }, false],
    [false, { FORCE_COLOR: "1" }, true],
    [true, { FORCE_COLOR: "0" }, false],
  ] as const)("on a terminal: %s, env %j: %s", (isTTY, env, expected) => expect(colorEnabled({ isTTY }, env)).toBe(expected));
  test("no colour is plain text; colour is ANSI bold/red/dim/green", () => {
    expect(painter(false)).toBe(PLAIN);
    expect(painter(true).warning("W")).toBe("\u001b[1m\u001b[31mW\u001b[39m\u001b[22m");
    expect(painter(true).ok("ok")).toBe("\u001b[32mok\u001b[39m");
  });
});

test("a reader that closes stdout early (| head) ends the command quietly: exit 0, nothing on stderr", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", join(__dirname, "fixtures", "write-much.ts")], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  child.stdout.once("data", () => child.stdout.destroy());
  const code = await new Promise((resolve) => child.on("close", resolve));
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
}, 30_000);
