/**
 * Passing long literal text (user data) into a Terraform function through CDKTF.
 *
 * Terraform deviation: CDKTF renders `Fn.base64gzip(text)` as `${base64gzip("<text>")}`, an HCL
 * quoted string inside a template. It escapes newlines and `${` in the literal parts but not
 * backslashes, double quotes or `%{` (a template directive), and it rejects unescaped quotes
 * outright. Fn.rawString would escape everything but cannot carry tokens (EFS id, NLB DNS name),
 * so escape the literal text here: tokens (`${TfToken[...]}`) contain none of these characters.
 */
export function escapeForFunctionArgument(text: string): string {
  return text
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\$\{(?!TfToken\[)/g, "\\u0024{") // literal ${ (CDKTF would warn and print the text)
    .replace(/%\{/g, "\\u0025{"); // literal %{ (not a template directive)
}

/**
 * The inverse, as Terraform parses the quoted string CDKTF writes (`\n`, `\"`, `\\`, `\uXXXX`,
 * `$${`): for tests that read the synthesized `${base64gzip("...")}` back.
 */
export function unescapeFunctionArgument(quoted: string): string {
  const simple: Record<string, string> = { n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\" };
  return quoted.replace(/\\(u[0-9a-fA-F]{4}|["\\nrt])|\$\$\{|%%\{/g, (match, escaped?: string) => {
    if (escaped === undefined) return match.slice(1);
    return escaped.length === 5 ? String.fromCharCode(parseInt(escaped.slice(1), 16)) : simple[escaped];
  });
}
