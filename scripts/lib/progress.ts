/**
 * Terminal side of the long-running commands (deploy.ts, local-cluster.ts): numbered and timed
 * progress lines on stderr, and the confirmation prompt.
 */
import { createInterface } from "node:readline";
import { painter } from "./cli";

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/**
 * `==> [2/7] type-check ... 1.7s` on stderr. A quiet step keeps its line open and appends the
 * time; a step that streams output (terraform plan/apply) or prints a note gets a header line
 * and the timed line again at the end.
 */
export class Progress {
  private index = 0;
  private open = false;

  constructor(
    private readonly total: number,
    private readonly out: NodeJS.WritableStream = process.stderr,
    private readonly paint = painter(false),
  ) {}

  async step<T>(title: string, run: () => Promise<T> | T, options: { readonly streams?: boolean } = {}): Promise<T> {
    this.index++;
    const label = `==> [${this.index}/${this.total}] ${title}`;
    const started = Date.now();
    this.out.write(options.streams ? `${this.paint.heading(label)}\n` : `${this.paint.heading(label)} ... `);
    this.open = !options.streams;
    const finish = (suffix: string) => {
      this.out.write(this.open ? `${suffix}\n` : `${this.paint.heading(label)} ... ${suffix}\n`);
      this.open = false;
    };
    try {
      const result = await run();
      finish(this.paint.dim(seconds(Date.now() - started)));
      return result;
    } catch (error) {
      const what = (error as Error)?.name === "Interrupted" ? "interrupted" : "failed";
      finish(this.paint.warning(`${what} after ${seconds(Date.now() - started)}`));
      throw error;
    }
  }

  /** A step that does not run, still numbered so the count stays right. */
  skip(title: string, why: string): void {
    this.index++;
    this.out.write(`${this.paint.heading(`==> [${this.index}/${this.total}] ${title}`)} ... ${this.paint.dim(`skipped (${why})`)}\n`);
  }

  /** A line from inside a step (`warning: ...`, `    aws: ...`), on its own line. */
  note(text: string): void {
    if (this.open) this.out.write("\n");
    this.open = false;
    this.out.write(`${text}\n`);
  }
}

/**
 * Asks on the terminal (prompt on stderr), returns the trimmed answer; "" on end of input.
 * Ctrl-C at the prompt is delivered to the process as SIGINT, so the usual cleanup runs.
 */
export function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  return new Promise((resolve) => {
    let answered = false;
    rl.on("SIGINT", () => {
      answered = true; // never resolves: the SIGINT handler cleans up and exits
      rl.close();
      process.kill(process.pid, "SIGINT");
    });
    rl.on("close", () => {
      if (!answered) resolve("");
    });
    rl.question(question, (answer) => {
      answered = true;
      rl.close();
      resolve(answer.trim());
    });
  });
}
