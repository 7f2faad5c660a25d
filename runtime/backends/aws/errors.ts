// AWS errors said the way a user can act on them.

/** An expired or missing SSO session, or expired keys, with what to run; other errors unchanged. */
export function explainAwsError(error: unknown, profile?: string): Error {
  const e = error as Error & { name?: string; Code?: string };
  const text = `${e?.name ?? ''} ${e?.Code ?? ''} ${e?.message ?? String(error)}`;
  const who = profile ? ` --profile ${profile}` : ' --profile NAME';
  if (/sso/i.test(text) && /expired|invalid|refresh|not (found|logged in)|sso login/i.test(text)) {
    return new Error(`AWS: the SSO session${profile ? ` of profile "${profile}"` : ''} has expired or is not signed in. Run \`aws sso login${who}\` and try again.`);
  }
  if (/ExpiredToken|RequestExpired|token included in the request is expired/i.test(text)) {
    return new Error(`AWS: the credentials have expired (${e.message}). ${profile ? `Refresh profile "${profile}" (for SSO: \`aws sso login${who}\`)` : 'Refresh them'} and try again.`);
  }
  if (/Could not load credentials|CredentialsProviderError/i.test(text)) {
    return new Error(`AWS: no credentials found${profile ? ` for profile "${profile}"` : ''} (${e.message}). Set a profile (cirrus.aws.profile or aws.profile), environment variables, or Cirrus: Set AWS Credentials.`);
  }
  return e instanceof Error ? e : new Error(String(error));
}
