/**
 * Config values that look like credentials. `config` is plain text in Git, in the Argo CD Application
 * and in the pod spec; a token there is leaked to everyone who can read any of them. The loader refuses
 * such values and points to `secrets:`. Messages name the kind of credential, never the value.
 */

interface CredentialPattern {
  readonly kind: string;
  readonly pattern: RegExp;
}

const PATTERNS: readonly CredentialPattern[] = [
  { kind: "a private key", pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { kind: "a GitHub token", pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/ },
  { kind: "a GitLab token", pattern: /\bglpat-[A-Za-z0-9_-]{20,}/ },
  { kind: "an AWS access key", pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { kind: "a Google API key", pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { kind: "a Slack token", pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/ },
  { kind: "a Slack webhook URL", pattern: /hooks\.slack\.com\/services\/[A-Za-z0-9/]+/ },
  { kind: "a Stripe secret key", pattern: /\b[sr]k_live_[A-Za-z0-9]{16,}/ },
  { kind: "an Azure storage key", pattern: /AccountKey=[A-Za-z0-9+/=]{40,}/ },
  { kind: "a JSON Web Token", pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/ },
  { kind: "a URL with a password", pattern: /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i },
  {
    kind: "a password or key assignment",
    pattern:
      /(?:^|[\s;,&?"'{])(?:password|passwd|pwd|secret|client_secret|api[_-]?key|apikey|access[_-]?key|token|auth[_-]?token)\s*[=:]\s*[^\s;,&"'}]{4,}/i,
  },
];

/** The kind of credential `value` looks like, or undefined. */
export function credentialKind(value: string): string | undefined {
  return PATTERNS.find((p) => p.pattern.test(value))?.kind;
}
