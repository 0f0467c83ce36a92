/**
 * Ubuntu 22.04 has no CloudWatch agent package: os/ubuntu-22.04.sh downloads AWS's .deb and its
 * detached signature from AWS's download bucket in the server's region and installs it only if the
 * signature verifies against the pinned key fingerprint. Real gpg, a throwaway signing key standing
 * in for AWS's, stubs for curl (serving files), apt-get and dpkg (recording calls).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TEMPLATES_DIR } from "../../stacks/user-data";
import { tempDir } from "../temp-dir";
import { shellFunctions, unpackServer, type Server } from "./harness";

const SCRIPT = join(TEMPLATES_DIR, "os", "ubuntu-22.04.sh");
const gpgAvailable = spawnSync("gpg", ["--version"]).status === 0;
const describeGpg = gpgAvailable || process.env.CI === "true" ? describe : describe.skip;
if (!gpgAvailable) process.stderr.write("[cloudwatch] gpg not installed: the Ubuntu signature tests are skipped\n");

interface Key {
  readonly home: string;
  readonly fingerprint: string;
  readonly publicKey: string;
}

/** A throwaway ed25519 signing key in its own GNUPGHOME. */
function makeKey(name: string): Key {
  const home = tempDir("gpg");
  const gpg = (...args: string[]) => {
    const r = spawnSync("gpg", ["--batch", "--homedir", home, ...args], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`gpg ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  gpg("--passphrase", "", "--quick-gen-key", `${name} <${name}@example.com>`, "ed25519", "sign", "never");
  const fingerprint = gpg("--with-colons", "--fingerprint").split("\n").find((l) => l.startsWith("fpr:"))!.split(":")[9];
  const publicKey = join(home, "public.gpg");
  gpg("--output", publicKey, "--export", fingerprint);
  return { home, fingerprint, publicKey };
}

function sign(key: Key, file: string, signature: string): void {
  const r = spawnSync("gpg", ["--batch", "--homedir", key.home, "--output", signature, "--detach-sign", file], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
}

describeGpg("Ubuntu: the CloudWatch agent .deb is installed only with a valid signature of the pinned key", () => {
  let aws: Key;
  let mallory: Key;
  beforeAll(() => {
    aws = makeKey("aws-standin");
    mallory = makeKey("mallory");
  }, 60_000);

  /** A server whose curl serves `files` by URL; returns it and the dpkg/curl call logs. */
  function server(files: Record<string, string>) {
    const s: Server = unpackServer("ubuntu-22.04");
    const web = tempDir("web");
    const index = Object.entries(files).map(([url, path], i) => {
      copyFileSync(path, join(web, String(i)));
      return `${url} ${join(web, String(i))}`;
    });
    writeFileSync(join(web, "index"), index.join("\n") + "\n");
    const calls = join(web, "calls");
    // curl ... -o FILE URL: serves the file registered for URL, else fails like --fail would.
    s.stub("curl", `out=""; url=""; while (($#)); do case $1 in -o) out=$2; shift ;; https://*) url=$1 ;; esac; shift; done
echo "curl $url" >>"${calls}"
src="$(awk -v u="$url" '$1 == u { print $2 }' "${join(web, "index")}")"
[[ -n $src ]] || { echo "curl: (22) 404 $url" >&2; exit 22; }
cp "$src" "$out"`);
    s.stub("apt-get", `echo "apt-get $*" >>"${calls}"`);
    s.stub("dpkg", `if [[ $1 == --print-architecture ]]; then echo arm64; else echo "dpkg $*" >>"${calls}"; fi`);
    const run = (fingerprint: string) =>
      s.run(
        `${readFileSync(SCRIPT, "utf8").split("\n").filter((l) => /^CW_AGENT_KEY_URL=/.test(l)).join("\n")}
CW_AGENT_KEY_FINGERPRINT=${fingerprint}
${shellFunctions(SCRIPT, ["download", "verify_cloudwatch_agent_signature", "install_cloudwatch_agent"])}
install_cloudwatch_agent`,
      );
    return { run, calls: () => (existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n") : []) };
  }

  const base = "https://amazoncloudwatch-agent-eu-west-1.s3.eu-west-1.amazonaws.com/ubuntu/arm64/latest/amazon-cloudwatch-agent.deb";
  const keyUrl = "https://amazoncloudwatch-agent.s3.amazonaws.com/assets/amazon-cloudwatch-agent.gpg";

  function debAndSignature(signer: Key): { deb: string; sig: string } {
    const dir = tempDir("cw");
    const deb = join(dir, "agent.deb");
    writeFileSync(deb, "not really a deb, but bytes to sign\n");
    const sig = join(dir, "agent.deb.sig");
    sign(signer, deb, sig);
    return { deb, sig };
  }

  test("the pinned fingerprint is the one AWS publishes; the key and package URLs are AWS's documented ones", () => {
    const script = readFileSync(SCRIPT, "utf8");
    expect(script).toMatch(/^CW_AGENT_KEY_FINGERPRINT=937616F3450B7D806CBD9725D58167303B789C72$/m);
    expect(script).toContain(`CW_AGENT_KEY_URL=${keyUrl}`);
    expect(script).toContain('url="https://amazoncloudwatch-agent-$WG_HA_REGION.s3.$WG_HA_REGION.amazonaws.com/ubuntu/$arch/latest/amazon-cloudwatch-agent.deb"');
  });

  test("valid signature: downloads key, .deb and .sig for this region and architecture, then dpkg -i -E", () => {
    const { deb, sig } = debAndSignature(aws);
    const s = server({ [keyUrl]: aws.publicKey, [base]: deb, [`${base}.sig`]: sig });
    const r = s.run(aws.fingerprint);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const calls = s.calls();
    expect(calls.slice(0, 4)).toEqual([
      "apt-get install -y -q --no-install-recommends curl gnupg rsyslog logrotate",
      `curl ${keyUrl}`,
      `curl ${base}`,
      `curl ${base}.sig`,
    ]);
    expect(calls[4]).toMatch(/^dpkg -i -E \/tmp\/.*\/agent\.deb$/);
    expect(calls).toHaveLength(5);
  });

  test.each([
    ["the package was altered after signing", "tampered", /signature of amazon-cloudwatch-agent\.deb does not verify/],
    ["the signature is another key's, even with the pinned key in the key file", "other-signer", /signature of amazon-cloudwatch-agent\.deb does not verify/],
    ["the key file is another key (fingerprint mismatch)", "other-key", /signing key fingerprint '[0-9A-F]{40}' is not /],
    ["the signature file is missing", "no-signature", /cannot download https:.*\.deb\.sig/],
  ])("not installed when %s", (_what, kind, message) => {
    const signer = kind === "other-signer" ? mallory : aws;
    const { deb, sig } = debAndSignature(signer);
    if (kind === "tampered") writeFileSync(deb, "a different package\n");
    let keyFile = aws.publicKey;
    if (kind === "other-signer") {
      keyFile = join(tempDir("cw"), "both.gpg");
      writeFileSync(keyFile, Buffer.concat([readFileSync(aws.publicKey), readFileSync(mallory.publicKey)]));
    }
    if (kind === "other-key") keyFile = mallory.publicKey;
    const files: Record<string, string> = { [keyUrl]: keyFile, [base]: deb };
    if (kind !== "no-signature") files[`${base}.sig`] = sig;
    const s = server(files);
    const r = s.run(aws.fingerprint);
    expect(r.status).not.toBe(0);
    expect(s.calls().filter((c) => c.startsWith("dpkg"))).toEqual([]);
    expect(r.stderr).toMatch(message);
  });
});
