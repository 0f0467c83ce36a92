/**
 * What a secret looks like in text: a WireGuard key (32 bytes, base64: 43 chars + "="), a PEM
 * block, an AWS access key ID or a 40-character AWS secret access key. Used by the synth-output
 * test over every file `synth` writes; shared so other tests can scan what they render.
 */
export interface SecretPattern {
  readonly name: string;
  readonly pattern: RegExp;
  /** Matches that only look like the secret (construct paths like dev/Network/FlowLogRole0). */
  readonly except?: RegExp;
}

export const SECRET_PATTERNS: readonly SecretPattern[] = [
  { name: "WireGuard key", pattern: /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=(?![A-Za-z0-9+/=])/ },
  { name: "PEM block", pattern: /-----BEGIN [A-Z0-9 ]+-----/ },
  // AWS's documented example credentials (AKIAIOSFODNN7EXAMPLE, wJalr...EXAMPLEKEY) are public test vectors.
  { name: "AWS access key ID", pattern: /(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])/, except: /EXAMPLE/ },
  {
    name: "AWS secret access key",
    // 40 base64 characters with upper, lower and digit, standing alone (not part of a longer token).
    pattern: /(?<![A-Za-z0-9+/=])(?=[A-Za-z0-9+/]*[A-Z])(?=[A-Za-z0-9+/]*[a-z])(?=[A-Za-z0-9+/]*\d)[A-Za-z0-9+/]{40}(?![A-Za-z0-9+/=])/,
    // A construct path (<stack>/PascalCase/Segments), or AWS's documented example secret key.
    except: /^[a-z0-9-]*(?:\/[A-Z][A-Za-z0-9]*)+$|EXAMPLEKEY$/,
  },
];

/** Every secret-looking match in `text`, as "<name>: <first chars>…" (never the whole value). */
export function findSecrets(text: string): string[] {
  return SECRET_PATTERNS.flatMap(({ name, pattern, except }) =>
    [...text.matchAll(new RegExp(pattern.source, "g"))]
      .filter((m) => !except?.test(m[0]))
      .map((m) => `${name}: ${m[0].slice(0, 6)}…`),
  );
}
