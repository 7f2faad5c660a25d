// The worker's signed S3 GET/HEAD without the SDK (runtime/storage/s3-signed.ts): its signatures are the
// SDK's own signer's, byte for byte, and the embedded S3 (which checks every signature) serves it.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { credentialsFromEnvironment, objectUrl, signedHeaders, SignedS3Reader, type SigningCredentials } from '../../runtime/storage/s3-signed';
import { isNotFound, putObjectBytes } from '../../runtime/storage/s3';
import { NodeSha256 } from '../../runtime/util/sigv4';
import { withEmbeddedS3 } from '../data/fixtures';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** Keys with what must be percent-encoded: spaces, reserved and non-ASCII characters, !'()* (which encodeURIComponent leaves). */
const AWKWARD_KEYS = ['datasets/criteo/part-00000.bin', 'a b/c+d=e&f?g#h', "x!y'z(1)*2/~._-", 'unicode/été/日本.bin'];

async function sdkAuthorization(method: string, where: ReturnType<typeof objectUrl>, credentials: SigningCredentials, region: string, date: Date): Promise<string> {
  const signer = new SignatureV4({ credentials, region, service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
  const signed = await signer.sign(
    { method, protocol: where.protocol, hostname: where.hostname, ...(where.port ? { port: Number(where.port) } : {}), path: where.path, query: {}, headers: { host: where.host, 'x-amz-content-sha256': EMPTY_SHA256 } },
    { signingDate: date },
  );
  return String(signed.headers.authorization);
}

test('signatures are the SDK signer\'s (path and virtual-hosted style, with and without a session token)', async () => {
  const date = new Date(Date.UTC(2026, 11, 1, 1, 23, 45));
  const plain = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
  const session = { ...plain, sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE//token+with/slashes==' };
  const targets = [
    { region: 'us-east-1', endpoint: 'http://127.0.0.1:45123', forcePathStyle: true },
    { region: 'eu-west-1' }, // AWS, virtual-hosted
    { region: 'ap-southeast-2', endpoint: 'https://minio.example.com/base/' }, // an endpoint with a path, path style
  ];
  let compared = 0;
  for (const target of targets) {
    for (const credentials of [plain, session]) {
      for (const key of AWKWARD_KEYS) {
        for (const method of ['GET', 'HEAD'] as const) {
          const where = objectUrl(target, 'cirrus-data', key);
          const ours = signedHeaders({ method, host: where.host, path: where.path }, credentials, target.region, date);
          assert.equal(ours.authorization, await sdkAuthorization(method, where, credentials, target.region, date), `${method} ${where.host}${where.path}`);
          assert.equal(ours['x-amz-date'], '20261201T012345Z');
          assert.equal(ours['x-amz-security-token'], credentials === session ? session.sessionToken : undefined);
          compared++;
        }
      }
    }
  }
  assert.equal(compared, 3 * 2 * AWKWARD_KEYS.length * 2);
  // Where each style puts the bucket; a bucket with dots stays in the path (TLS wildcard certificates).
  assert.equal(objectUrl({ region: 'eu-west-1' }, 'cirrus-data', 'a b').host, 'cirrus-data.s3.eu-west-1.amazonaws.com');
  assert.equal(objectUrl({ region: 'eu-west-1' }, 'cirrus-data', 'a b').path, '/a%20b');
  assert.deepEqual(objectUrl({ region: 'eu-west-1' }, 'my.bucket', 'k'), { protocol: 'https:', hostname: 's3.eu-west-1.amazonaws.com', port: '', host: 's3.eu-west-1.amazonaws.com', path: '/my.bucket/k' });
  assert.equal(objectUrl(targets[2], 'b-1', 'k').path, '/base/b-1/k');
});

test('credentials come from the environment Lambda sets, or none', () => {
  assert.equal(credentialsFromEnvironment({}), undefined);
  assert.equal(credentialsFromEnvironment({ AWS_ACCESS_KEY_ID: 'A' }), undefined);
  assert.deepEqual(credentialsFromEnvironment({ AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'S' }), { accessKeyId: 'A', secretAccessKey: 'S' });
  assert.deepEqual(credentialsFromEnvironment({ AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'S', AWS_SESSION_TOKEN: 'T' }), { accessKeyId: 'A', secretAccessKey: 'S', sessionToken: 'T' });
});

test('against the embedded S3: reads, ETags, missing objects and a wrong key', async () => {
  const { client, bucket, s3 } = await withEmbeddedS3(after);
  const credentials = s3.target.credentials!;
  const reader = new SignedS3Reader({ region: s3.target.region, endpoint: s3.target.endpoint }, credentials);
  after(() => reader.destroy());

  // A few MB (several reads' worth of chunks) and the awkward keys.
  const big = new Uint8Array(3 * 2 ** 20 + 7);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  await putObjectBytes(client, bucket, 'big.bin', big);
  for (const [i, key] of AWKWARD_KEYS.entries()) await putObjectBytes(client, bucket, key, new Uint8Array([i, 1, 2, 3]));

  const got = await reader.getObject(bucket, 'big.bin');
  assert.equal(got.bytes.byteLength, big.byteLength);
  assert.ok(Buffer.from(got.bytes).equals(Buffer.from(big)), 'the bytes read are the bytes stored');
  const sdkHead = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big.bin' }));
  assert.equal(got.etag, sdkHead.ETag, 'the ETag is the one the SDK reads');
  assert.deepEqual(await reader.headObject(bucket, 'big.bin'), { etag: sdkHead.ETag });

  for (const [i, key] of AWKWARD_KEYS.entries()) {
    assert.deepEqual([...(await reader.getObject(bucket, key)).bytes], [i, 1, 2, 3], key);
    assert.ok((await reader.headObject(bucket, key))?.etag, key);
  }

  // A replaced object has a new ETag (what the worker's check of a held partition relies on).
  await putObjectBytes(client, bucket, 'big.bin', big.subarray(1));
  assert.notEqual((await reader.headObject(bucket, 'big.bin'))?.etag, sdkHead.ETag);

  assert.equal(await reader.headObject(bucket, 'no/such.bin'), undefined);
  await assert.rejects(reader.getObject(bucket, 'no/such.bin'), (error: Error) => {
    assert.equal(error.name, 'NoSuchKey');
    assert.ok(isNotFound(error));
    assert.match(error.message, /^s3:\/\/cirrus-test\/no\/such\.bin: GET failed: 404 NoSuchKey/);
    return true;
  });

  // The server checks the signature: a wrong secret is refused with S3's own error, and is not retried as a fault.
  const wrong = new SignedS3Reader({ region: s3.target.region, endpoint: s3.target.endpoint }, { ...credentials, secretAccessKey: `${credentials.secretAccessKey}x` });
  after(() => wrong.destroy());
  await assert.rejects(wrong.getObject(bucket, 'big.bin'), (error: Error) => {
    assert.equal(error.name, 'SignatureDoesNotMatch');
    assert.match(error.message, /GET failed: 403 SignatureDoesNotMatch/);
    return true;
  });
  await assert.rejects(wrong.headObject(bucket, 'big.bin'), /HEAD failed: 403/);
});

test('a server that is not there fails after the retries, naming the object', async () => {
  const reader = new SignedS3Reader({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' }, { accessKeyId: 'A', secretAccessKey: 'S' });
  after(() => reader.destroy());
  await assert.rejects(reader.getObject('b-1', 'k'), /^Error: s3:\/\/b-1\/k: GET failed after 3 attempts: .*ECONNREFUSED/);
});

test('a body cut short of its Content-Length is refused, whether or not the length was trusted with one buffer', async () => {
  // A real HTTP server over loopback that promises more bytes than it sends, then closes the connection;
  // the second Content-Length is past what the reader reads into one buffer (it joins chunks instead).
  const sent = Buffer.alloc(100_000, 7);
  const server = http.createServer((request, response) => {
    const promised = request.url?.includes('huge') ? 2 ** 30 : sent.length + 1;
    response.writeHead(200, { 'Content-Length': promised, ETag: '"e"' });
    response.write(sent, () => response.socket?.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const reader = new SignedS3Reader({ region: 'us-east-1', endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, { accessKeyId: 'A', secretAccessKey: 'S' });
  after(() => reader.destroy());
  for (const key of ['short.bin', 'huge.bin']) {
    await assert.rejects(reader.getObject('b-1', key), (error: Error) => {
      assert.match(error.message, new RegExp(`^s3://b-1/${key.replace('.', '\\.')}: GET failed after 3 attempts: `), key);
      return true;
    });
  }
});
