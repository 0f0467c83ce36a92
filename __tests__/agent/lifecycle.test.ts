/**
 * Lifecycle draining on AWS (WG_HA_AWS=1) against a fake IMDSv2 and a fake Auto Scaling endpoint
 * (harness.ts): target-lifecycle-state "Terminated" -> drain flag and 503 at once -> after
 * WG_HA_DRAIN_SECONDS one CompleteLifecycleAction (CONTINUE), SigV4-signed with the instance
 * role's credentials; the signature is recomputed here with Node's crypto. Retries with backoff.
 */
import { existsSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import {
  awsError,
  closeServers,
  expectedSignature,
  getJson,
  http,
  IMDS_TOKEN,
  makeFixture,
  OK_RESPONSE,
  parseAuthorization,
  removeFixtures,
  startAgent,
  startFakeAws,
  stopAgents,
  waitFor,
  type FakeAws,
} from "./harness";

jest.setTimeout(30_000);
afterEach(async () => {
  await stopAgents();
  await closeServers();
  removeFixtures();
});

const ASG = "wg-ha-test-servers";
const HOOK = "wg-ha-test-drain";

function awsFixture(aws: FakeAws, settings: Record<string, string> = {}) {
  return makeFixture({
    settings: {
      WG_HA_AWS: "1",
      WG_HA_EMF: "0",
      WG_HA_IMDS_URL: aws.url,
      WG_HA_AUTOSCALING_URL: `${aws.url}/`,
      WG_HA_REGION: "eu-west-1",
      WG_HA_ASG_NAME: ASG,
      WG_HA_LIFECYCLE_HOOK: HOOK,
      WG_HA_DRAIN_SECONDS: "1",
      WG_HA_LIFECYCLE_POLL_SECONDS: "0.2",
      ...settings,
    },
  });
}

const lifecyclePolls = (aws: FakeAws) => aws.imdsCalls().filter((c) => c.url.endsWith("/target-lifecycle-state")).length;

describe("SigV4 verifier used by these tests", () => {
  test("reproduces AWS's get-vanilla signature (so it can judge the agent's)", () => {
    const req = {
      method: "GET",
      headers: {
        host: "example.amazonaws.com",
        "x-amz-date": "20150830T123600Z",
        authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`,
      },
      body: Buffer.alloc(0),
    };
    expect(expectedSignature(req, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")).toBe("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  });
});

describe("termination lifecycle hook", () => {
  test("Terminated: 503 at once, then after the drain time one signed CompleteLifecycleAction (CONTINUE)", async () => {
    const aws = await startFakeAws();
    const fx = awsFixture(aws);
    const agent = await startAgent(fx);
    await waitFor("the first lifecycle poll", () => lifecyclePolls(aws) > 0);
    expect((await http(agent.port, "GET", "/health")).status).toBe(200);

    aws.lifecycleState = "Terminated";
    const health = await waitFor("503 while leaving", async () => {
      const h = await getJson(agent.port, "/health");
      return h.status === 503 ? h.json : undefined;
    }, 3000);
    expect(health.failing).toEqual(["draining"]);
    expect(readFileSync(fx.path("local/draining"), "utf8")).toMatch(/^lifecycle: /);
    const flagAt = statSync(fx.path("local/draining")).mtimeMs;

    const call = await waitFor("CompleteLifecycleAction", () => aws.autoscalingCalls()[0], 5000);
    expect(call.at).toBeGreaterThanOrEqual(flagAt + 1000 - 50); // WG_HA_DRAIN_SECONDS=1 of 503 first

    // The Query API form: exactly these parameters.
    const form = Object.fromEntries(new URLSearchParams(call.body.toString()));
    expect(form).toEqual({
      Action: "CompleteLifecycleAction",
      Version: "2011-01-01",
      AutoScalingGroupName: ASG,
      LifecycleHookName: HOOK,
      LifecycleActionResult: "CONTINUE",
      InstanceId: aws.instanceId,
    });
    expect(call.headers["content-type"]).toBe("application/x-www-form-urlencoded; charset=utf-8");
    expect(call.headers["x-amz-security-token"]).toBe(aws.credentials.Token);
    expect(call.headers["x-amz-date"]).toMatch(/^\d{8}T\d{6}Z$/);

    // SigV4: the scope names today (UTC), the region and the service; the signature verifies.
    const auth = parseAuthorization(call.headers.authorization);
    expect(auth).toMatchObject({
      accessKeyId: aws.credentials.AccessKeyId,
      date: new Date(call.at).toISOString().slice(0, 10).replace(/-/g, ""),
      region: "eu-west-1",
      service: "autoscaling",
      signedHeaders: ["content-type", "host", "x-amz-date", "x-amz-security-token"],
    });
    expect(call.headers.authorization).toContain(`Credential=${aws.credentials.AccessKeyId}/${auth.date}/eu-west-1/autoscaling/aws4_request, `);
    expect(auth.signature).toBe(expectedSignature(call, aws.credentials.SecretAccessKey));
    expect(auth.signature).not.toBe(expectedSignature({ ...call, body: Buffer.from(call.body.toString().replace("CONTINUE", "ABANDON")) }, aws.credentials.SecretAccessKey));

    // IMDSv2 only: a token first (with a TTL), then every GET carried it.
    const imds = aws.imdsCalls();
    expect(`${imds[0].method} ${imds[0].url}`).toBe("PUT /latest/api/token");
    expect(imds[0].headers["x-aws-ec2-metadata-token-ttl-seconds"]).toBe("21600");
    for (const c of imds.filter((x) => x.method === "GET")) expect(c.headers["x-aws-ec2-metadata-token"]).toBe(IMDS_TOKEN);

    // Done: polling stopped, one call only, the drain cannot be undone, health stays 503.
    await waitFor("the completion log line", () => /HTTP 200, done/.test(agent.stderr()));
    const polls = lifecyclePolls(aws);
    await new Promise((r) => setTimeout(r, 600));
    expect(lifecyclePolls(aws)).toBe(polls);
    expect(aws.autoscalingCalls()).toHaveLength(1);
    expect((await http(agent.port, "DELETE", "/drain")).status).toBe(409);
    expect(existsSync(fx.path("local/draining"))).toBe(true);
    expect((await http(agent.port, "GET", "/health")).status).toBe(503);

    // One line per step; no secret in any of them.
    const log = agent.stderr();
    expect(log).toMatch(/lifecycle: target-lifecycle-state InService/);
    expect(log).toMatch(/lifecycle: target-lifecycle-state Terminated/);
    expect(log).toMatch(/drain on: lifecycle: /);
    expect(log).toMatch(/lifecycle: draining, CompleteLifecycleAction in [01] s/);
    expect(log).toContain(`lifecycle: CompleteLifecycleAction(${ASG}, ${HOOK}, ${aws.instanceId}, CONTINUE): HTTP 200, done`);
    for (const secret of [aws.credentials.SecretAccessKey, aws.credentials.Token, IMDS_TOKEN, fx.privateKey]) {
      expect(log + agent.stdout()).not.toContain(secret);
    }
  });

  test("a removed drain flag does not bring a leaving server back: 503 from memory", async () => {
    const aws = await startFakeAws();
    aws.lifecycleState = "Terminated";
    const fx = awsFixture(aws, { WG_HA_DRAIN_SECONDS: "30" });
    const agent = await startAgent(fx);
    await waitFor("the drain flag", () => existsSync(fx.path("local/draining")));
    rmSync(fx.path("local/draining"));
    const h = await getJson(agent.port, "/health");
    expect(h.status).toBe(503);
    expect(h.json.checks.draining.detail).toMatch(/leaving the Auto Scaling group/);
    expect((await getJson(agent.port, "/drain")).json.draining).toBe(true);
  });

  test("the drain time counts from an existing flag: drained 60 s ago -> completes at once", async () => {
    const aws = await startFakeAws();
    const fx = awsFixture(aws, { WG_HA_DRAIN_SECONDS: "30" });
    writeFileSync(fx.path("local/draining"), "operator drain\n");
    const past = Date.now() / 1000 - 60;
    utimesSync(fx.path("local/draining"), past, past);
    aws.lifecycleState = "Terminated";
    const agent = await startAgent(fx);
    await waitFor("CompleteLifecycleAction", () => aws.autoscalingCalls()[0], 5000);
    expect(readFileSync(fx.path("local/draining"), "utf8")).toBe("operator drain\n"); // kept, not overwritten
    await waitFor("the drain wait logged", () => /CompleteLifecycleAction in 0 s/.test(agent.stderr()));
  });

  test("transient failures are retried with backoff (1 s, 2 s), each attempt freshly signed", async () => {
    const aws = await startFakeAws();
    aws.autoscalingResponses = [awsError(500, "InternalFailure", "try again"), awsError(400, "Throttling", "Rate exceeded"), OK_RESPONSE];
    aws.lifecycleState = "Terminated";
    const fx = awsFixture(aws, { WG_HA_DRAIN_SECONDS: "0" });
    const agent = await startAgent(fx);
    await waitFor("three attempts", () => aws.autoscalingCalls().length === 3, 10_000);
    const [a, b, c] = aws.autoscalingCalls();
    expect(b.at - a.at).toBeGreaterThanOrEqual(900);
    expect(c.at - b.at).toBeGreaterThanOrEqual(1900);
    for (const call of [a, b, c]) expect(parseAuthorization(call.headers.authorization).signature).toBe(expectedSignature(call, aws.credentials.SecretAccessKey));
    await waitFor("done", () => /HTTP 200, done/.test(agent.stderr()));
    expect(agent.stderr()).toMatch(/CompleteLifecycleAction failed: .*InternalFailure try again; retry in 1 s/);
    expect(agent.stderr()).toMatch(/CompleteLifecycleAction failed: .*Throttling Rate exceeded; retry in 2 s/);
  });

  test("'No active Lifecycle Action' (completed or timed out already): no retry", async () => {
    const aws = await startFakeAws();
    aws.autoscalingResponses = [awsError(400, "ValidationError", "No active Lifecycle Action found with instance ID i-0123456789abcdef0")];
    aws.lifecycleState = "Terminated";
    const fx = awsFixture(aws, { WG_HA_DRAIN_SECONDS: "0" });
    const agent = await startAgent(fx);
    await waitFor("the answer logged", () => /completed or timed out already/.test(agent.stderr()), 5000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(aws.autoscalingCalls()).toHaveLength(1);
  });

  test("ExpiredToken: the role credentials are fetched again before the retry", async () => {
    const aws = await startFakeAws();
    aws.autoscalingResponses = [awsError(403, "ExpiredToken", "The security token included in the request is expired"), OK_RESPONSE];
    aws.lifecycleState = "Terminated";
    const fx = awsFixture(aws, { WG_HA_DRAIN_SECONDS: "0" });
    await startAgent(fx);
    await waitFor("two attempts", () => aws.autoscalingCalls().length === 2, 10_000);
    const credentialFetches = aws.imdsCalls().filter((c) => /security-credentials\/.+/.test(c.url)).length;
    expect(credentialFetches).toBe(2);
  });

  test("without WG_HA_REGION the region comes from IMDS (and names the signing scope)", async () => {
    const aws = await startFakeAws();
    Object.assign(aws, { region: "ap-southeast-2" });
    aws.lifecycleState = "Terminated";
    const fx = awsFixture(aws, { WG_HA_DRAIN_SECONDS: "0", WG_HA_REGION: "" });
    await startAgent(fx);
    const call = await waitFor("CompleteLifecycleAction", () => aws.autoscalingCalls()[0], 5000);
    expect(parseAuthorization(call.headers.authorization).region).toBe("ap-southeast-2");
    expect(parseAuthorization(call.headers.authorization).signature).toBe(expectedSignature(call, aws.credentials.SecretAccessKey));
  });

  test("IMDS without a lifecycle state (404) or unreachable: health is unaffected, one log line per change", async () => {
    const aws = await startFakeAws();
    aws.lifecycleState = "";
    const fx = awsFixture(aws);
    const agent = await startAgent(fx);
    await waitFor("several polls", () => lifecyclePolls(aws) >= 3);
    expect((await http(agent.port, "GET", "/health")).status).toBe(200);
    expect(agent.stderr().match(/target-lifecycle-state unknown \(IMDS GET \/latest\/meta-data\/autoscaling\/target-lifecycle-state: HTTP 404\)/g)).toHaveLength(1);
    aws.lifecycleState = "InService";
    await waitFor("the change logged", () => /target-lifecycle-state InService/.test(agent.stderr()));
    expect(aws.autoscalingCalls()).toHaveLength(0);
  });
});
