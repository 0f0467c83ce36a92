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
  { program: "sysctl", pkg: "procps" },
];

/**
 * Where root finds programs even when the caller's PATH lacks them (a non-root PATH has no sbin
 * directories: `ip`, `nft` and `conntrack` would look missing when only root is).
 */
const SBIN_DIRS = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

export function findProgram(program: string, path = process.env.PATH ?? ""): string | undefined {
  for (const dir of [...path.split(delimiter).filter(Boolean), ...SBIN_DIRS]) {
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

/** What the machine lacks, structured (empty lists and true flags when it is ready). */
export interface PrerequisiteReport {
  /** The platform when it is not Linux. */
  readonly platform?: string;
  readonly root: boolean;
  /** Missing programs, and the Debian/Ubuntu packages that provide them (unique, in list order). */
  readonly programs: readonly string[];
  readonly packages: readonly string[];
}

export function prerequisiteReport(
  env: { platform?: string; uid?: number; path?: string } = {},
): PrerequisiteReport {
  const platform = env.platform ?? process.platform;
  const uid = env.uid ?? process.getuid?.();
  const missing = REQUIRED_PROGRAMS.filter((p) => !findProgram(p.program, env.path));
  return {
    ...(platform === "linux" ? {} : { platform }),
    root: uid === 0,
    programs: missing.map((p) => p.program),
    packages: [...new Set(missing.map((p) => p.pkg))],
  };
}

/** The command that installs the missing packages. */
export function installCommand(packages: readonly string[]): string {
  return `sudo apt-get install -y ${packages.join(" ")}`;
}

/** One readable line per unmet prerequisite. */
export function describePrerequisites(report: PrerequisiteReport, what: { packages?: boolean } = {}): string[] {
  const problems: string[] = [];
  if (report.platform) problems.push(`Linux is needed for network namespaces (this is ${report.platform})`);
  if (!report.root) problems.push("root is needed (network namespaces, nftables, WireGuard interfaces): run it with sudo");
  if ((what.packages ?? true) && report.packages.length) {
    problems.push(`missing programs ${report.programs.join(", ")}: install the packages ${report.packages.join(" ")} (${installCommand(report.packages)})`);
  }
  return problems;
}

/** Every unmet prerequisite, one readable line each (empty when the machine is ready). */
export function missingPrerequisites(): string[] {
  return describePrerequisites(prerequisiteReport());
}

export function assertPrerequisites(): void {
  const problems = missingPrerequisites();
  if (problems.length) throw new Error(`local cluster prerequisites not met:\n  - ${problems.join("\n  - ")}`);
}

/**
 * The message a command prints when the machine cannot run it (undefined when it can): one line
 * per problem, then the exact apt-get command for the missing packages.
 */
export function prerequisiteError(what: string, report: PrerequisiteReport, opts: { packages?: boolean } = {}): string | undefined {
  const packages = (opts.packages ?? true) && report.packages.length > 0;
  const lines: string[] = [];
  if (report.platform) lines.push(`  - Linux: network namespaces are Linux only (this is ${report.platform})`);
  if (!report.root) lines.push("  - root privileges (network namespaces, nftables, WireGuard interfaces): run it with sudo");
  if (packages) lines.push(`  - the packages ${report.packages.join(" ")} (missing programs: ${report.programs.join(", ")})`);
  if (!lines.length) return undefined;
  return [`${what} needs:`, ...lines, ...(packages ? ["Install the packages with:", `  ${installCommand(report.packages)}`] : [])].join("\n");
}
