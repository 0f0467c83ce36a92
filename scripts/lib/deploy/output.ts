/**
 * What deploy.ts prints after a successful apply, from `terraform output -json`: the endpoint
 * and dashboard first, every other output after, then how to add the first client. Pure.
 */

interface OutputValue {
  readonly value?: unknown;
  readonly sensitive?: boolean;
}

/** Outputs whose name matches come first, in this order. */
const FIRST = [/endpoint/, /dashboard/, /sns|topic/, /client/];

/** Outputs that carry ready-to-run instructions for adding a client. */
const ADD_CLIENT = /add_client|client_command|how_to_add/;

const GENERIC_ADD_CLIENT = [
  "Add a client: open a shell on any VPN server through SSM (no SSH) and run wg-client:",
  "  aws ssm start-session --target <instance-id>    # an instance of the environment's Auto Scaling group",
  "  sudo wg-client add alice                          # prints the client config once; wg-client show alice --qr",
].join("\n");

function rank(name: string): number {
  const index = FIRST.findIndex((pattern) => pattern.test(name));
  return index < 0 ? FIRST.length : index;
}

function show(output: OutputValue): string {
  if (output.sensitive) return "(sensitive: terraform output -raw <name>)";
  if (typeof output.value === "string") return output.value;
  return JSON.stringify(output.value);
}

/** Renders the parsed `terraform output -json` of one environment. */
export function renderOutputs(environment: string, outputs: Readonly<Record<string, OutputValue>>): string {
  const names = Object.keys(outputs).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const lines: string[] = [];
  if (names.length === 0) {
    lines.push(`${environment} has no outputs.`);
  } else {
    const width = Math.max(...names.map((n) => n.length));
    lines.push(`Outputs of ${environment}:`);
    for (const name of names) {
      if (ADD_CLIENT.test(name)) continue;
      const text = show(outputs[name]).split("\n");
      lines.push(`  ${name.padEnd(width)}  ${text[0]}`, ...text.slice(1).map((l) => `  ${" ".repeat(width)}  ${l}`));
    }
  }
  const howTo = names.find((n) => ADD_CLIENT.test(n) && !outputs[n].sensitive);
  const asAdmin = "admin_role_arn" in outputs ? " (as admin_role_arn, with MFA)" : "";
  lines.push("", howTo ? `Add a client${asAdmin}:\n${indent(show(outputs[howTo]))}` : GENERIC_ADD_CLIENT);
  return lines.join("\n") + "\n";
}

function indent(text: string): string {
  return text.split("\n").map((l) => `  ${l}`).join("\n");
}
