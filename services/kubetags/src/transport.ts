import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { z } from 'zod';
import type { Envelope } from '@sightline/kube-model';

export interface PostResult {
  status: number;
  /** the backend's reason on a rejection (never holds the token) */
  message: string;
  /**
   * the backend's error code on a rejection (its body's `error`, e.g. `sent-at`, `epoch`,
   * `bad-envelope`), null when the answer has none (a success, a proxy's error page): the sender
   * answers a stale or out-of-order refusal with a fresh snapshot, any other 400 with a drop
   */
  code: string | null;
}

/** The api service's rejection body: `{ "error": "<code>", "message": "<reason>" }`. */
const RejectionBody = z.looseObject({ error: z.string().optional(), message: z.string().optional() });

/** Delivers one envelope; resolves with the HTTP status, rejects on network errors and timeouts. */
export interface Transport {
  post(env: Envelope): Promise<PostResult>;
  /** called after a 401: the mounted Secret may have been rotated */
  reloadToken(): void;
}

export interface HttpsTransportOptions {
  url: string;
  tenant: string;
  tokenFile: string;
  caFile?: string | undefined;
  timeoutMs: number;
}

/** POST /v1/tenants/<tenant>/kube-meta, gzipped, with the cluster token from its file. */
export class HttpsTransport implements Transport {
  private token: string;
  private readonly ca: Buffer | undefined;
  private readonly endpoint: URL;

  constructor(private readonly opts: HttpsTransportOptions) {
    this.endpoint = new URL(`v1/tenants/${encodeURIComponent(opts.tenant)}/kube-meta`, opts.url.endsWith('/') ? opts.url : `${opts.url}/`);
    this.ca = opts.caFile ? readFileSync(opts.caFile) : undefined;
    this.token = readToken(opts.tokenFile);
  }

  reloadToken(): void {
    this.token = readToken(this.opts.tokenFile);
  }

  post(env: Envelope): Promise<PostResult> {
    const body = gzipSync(JSON.stringify(env));
    const https = this.endpoint.protocol === 'https:';
    const request = https ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        this.endpoint,
        {
          method: 'POST',
          ...(https && this.ca ? { ca: this.ca } : {}),
          timeout: this.opts.timeoutMs,
          headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': body.length, authorization: `Bearer ${this.token}` },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let message = text.slice(0, 500);
            let code: string | null = null;
            try {
              const j = RejectionBody.safeParse(JSON.parse(text));
              if (j.success) {
                if (j.data.message !== undefined) message = j.data.message;
                if (j.data.error !== undefined) code = j.data.error.slice(0, 64);
              }
            } catch {
              // not JSON (a proxy's error page): keep the text, no code
            }
            resolve({ status: res.statusCode ?? 0, message, code });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`backend did not answer within ${this.opts.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}

function readToken(file: string): string {
  let t: string;
  try {
    t = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new Error(`token file ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (t.length < 16) throw new Error(`token file ${file}: the token is empty or shorter than 16 characters`);
  return t;
}
