// A PUT to the embedded S3 is atomic, as on S3: while an object is being uploaded (slowly, through
// the network proxy), a reader sees no object, then the complete one, never a part of it.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startS3Proxy } from '../../runtime/network/s3-proxy';
import { createS3Client, getObjectBytes, headObject, putObjectBytes } from '../../runtime/storage/s3';
import { withEmbeddedS3 } from '../data/fixtures';

const fixture = withEmbeddedS3(after, 'atomic');

test('an object being written is absent until complete; an overwrite never shows a mix', async () => {
  const { s3, client, bucket } = await fixture;
  const proxy = await startS3Proxy({
    upstream: s3.endpoint,
    figures: { s3FirstByteMs: 0, s3BytesPerSecond: 4e6, s3GetsPerSecondPerPrefix: 1e6, s3PutsPerSecondPerPrefix: 1e6 },
  });
  const slow = createS3Client({ ...s3.target, endpoint: proxy.endpoint });
  try {
    for (const [fill, size] of [[1, 2_000_000], [2, 2_000_000]] as const) {
      const body = Buffer.alloc(size, fill);
      const writing = putObjectBytes(slow, bucket, 'atomic/obj', body); // ~0.5 s at 4 MB/s
      let done = false;
      void writing.then(() => (done = true));
      const seen = new Set<string>();
      while (!done) {
        const head = await headObject(client, bucket, 'atomic/obj');
        if (head) {
          const bytes = Buffer.from(await getObjectBytes(client, bucket, 'atomic/obj'));
          assert.ok(bytes.length === size && (bytes.every((b) => b === fill) || bytes.every((b) => b === fill - 1)), `a partial or mixed object was visible: ${bytes.length} bytes`);
          seen.add(`${bytes[0]}`);
        } else seen.add('absent');
        await new Promise((r) => setTimeout(r, 10));
      }
      await writing;
      assert.ok(Buffer.from(await getObjectBytes(client, bucket, 'atomic/obj')).equals(body));
      assert.ok(seen.size > 0);
    }
  } finally {
    slow.destroy();
    await proxy.close();
  }
});
