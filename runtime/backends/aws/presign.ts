// A presigned S3 GET URL, made locally (no API call): the instance fetches its bundle and config with it,
// so it needs no instance role and the account needs no iam:PassRole for the run.
import type { S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../util/sigv4';

export async function presignGet(s3: S3Client, bucket: string, key: string, expiresInSeconds: number): Promise<string> {
  const credentials = await s3.config.credentials();
  const region = await s3.config.region();
  const endpoint = s3.config.endpoint ? await s3.config.endpoint() : undefined;
  const encodedKey = key.split('/').map(encodeURIComponent).join('/');
  // Path style for a given endpoint (the local stand-in, as createS3Client does); virtual-hosted on AWS.
  const url = endpoint
    ? new URL(`${endpoint.protocol}//${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ''}${endpoint.path.replace(/\/$/, '')}/${bucket}/${encodedKey}`)
    : new URL(`https://${bucket}.s3.${region}.amazonaws.com/${encodedKey}`);
  const signer = new SignatureV4({ credentials, region, service: 's3', sha256: NodeSha256, uriEscapePath: false });
  const signed = await signer.presign(
    { method: 'GET', protocol: url.protocol, hostname: url.hostname, port: url.port ? Number(url.port) : undefined, path: url.pathname, query: {}, headers: { host: url.host } },
    { expiresIn: expiresInSeconds },
  );
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(signed.query ?? {})) query.set(k, String(v));
  return `${url.origin}${url.pathname}?${query.toString()}`;
}
