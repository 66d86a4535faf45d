// The few S3 calls the benchmark needs (create a bucket, put, list, delete), signed with SigV4 over
// fetch: the enricher has no AWS SDK, and the collector reads the objects with its own client.
// Against moto only; the credentials are moto's dummies.
import { createHash, createHmac } from 'node:crypto';

export interface S3Target {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const sha256 = (b: string | Uint8Array): string => createHash('sha256').update(b).digest('hex');
const hmac = (k: string | Buffer, s: string): Buffer => createHmac('sha256', k).update(s).digest();
const encodePath = (p: string): string => p.split('/').map(encodeURIComponent).join('/');

async function call(t: S3Target, method: string, path: string, query: Record<string, string> = {}, body?: Uint8Array): Promise<Response> {
  const url = new URL(encodePath(path), t.endpoint);
  const q = Object.entries(query).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const payload = body ? sha256(body) : sha256('');
  const headers: Record<string, string> = { host: url.host, 'x-amz-content-sha256': payload, 'x-amz-date': amzDate };
  const signed = Object.keys(headers).sort();
  const canonical = [method, url.pathname, q, signed.map((h) => `${h}:${headers[h]}\n`).join(''), signed.join(';'), payload].join('\n');
  const scope = `${day}/${t.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${t.secretAccessKey}`, day), t.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  const { host: _host, ...sent } = headers;
  const r = await fetch(`${url.origin}${url.pathname}${q ? `?${q}` : ''}`, {
    method,
    headers: { ...sent, 'content-type': 'application/octet-stream', authorization: `AWS4-HMAC-SHA256 Credential=${t.accessKeyId}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}` },
    ...(body ? { body } : {}),
  });
  if (!r.ok) throw new Error(`s3 ${method} ${path}: HTTP ${r.status} ${(await r.text()).slice(0, 300)}`);
  return r;
}

export async function createBucket(t: S3Target, bucket: string): Promise<void> {
  await call(t, 'PUT', `/${bucket}`);
}

export async function putObject(t: S3Target, bucket: string, key: string, body: Uint8Array): Promise<void> {
  await call(t, 'PUT', `/${bucket}/${key}`, {}, body);
}

/** Deletes every object of the bucket, then the bucket. */
export async function deleteBucket(t: S3Target, bucket: string): Promise<void> {
  for (;;) {
    const xml = await (await call(t, 'GET', `/${bucket}`, { 'list-type': '2' })).text();
    const keys = [...xml.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
    if (keys.length === 0) break;
    for (const k of keys) await call(t, 'DELETE', `/${bucket}/${k}`);
  }
  await call(t, 'DELETE', `/${bucket}`);
}
