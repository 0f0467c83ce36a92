/**
 * What a local cluster needs on the machine: Linux, root, and these programs (Debian/Ubuntu
 * package names; .ci/run installs the same list).
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export const REQUIRED_PROGRAMS: ReadonlyArray<{ readonly program: string; readonly pkg: string }> = [
  { program: "ip", pkg: "iproute2" },
  { program: "wg", pkg: "wireguard-tools" },
  { program: "wg-quick", pkg: "wireguard-tools" },
  { program: "wireguard-go", pkg: "wireguard-go" },
  { program: "nft", pkg: "nftables" },
  { program: "conntrack", pkg: "conntrack" },
  { program: "curl", pkg: "curl" },
  { program: "ping", pkg: "iputils-ping" },
  { program: "qrencode", pkg: "qrencode" },
  { program: "python3", pkg: "python3" },
  { program: "flock", pkg: "util-linux" },
  { program: "awk", pkg: "mawk" },
];

export function findProgram(program: string, path = process.env.PATH ?? ""): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const file = join(dir, program);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** Every unmet prerequisite, one readable line each (empty when the machine is ready). */
export function missingPrerequisites(): string[] {
  const problems: string[] = [];
  if (process.platform !== "linux") problems.push(`Linux network namespaces are needed (this is ${process.platform})`);
  if (process.getuid?.() !== 0) problems.push("root is needed (network namespaces, nftables): run as root or with sudo");
  const missing = REQUIRED_PROGRAMS.filter((p) => !findProgram(p.program));
  if (missing.length) {
    const pkgs = [...new Set(missing.map((p) => p.pkg))];
    problems.push(`missing programs ${missing.map((p) => p.program).join(", ")}: apt-get install ${pkgs.join(" ")}`);
  }
  return problems;
}

export function assertPrerequisites(): void {
  const problems = missingPrerequisites();
  if (problems.length) throw new Error(`local cluster prerequisites not met:\n  - ${problems.join("\n  - ")}`);
}
