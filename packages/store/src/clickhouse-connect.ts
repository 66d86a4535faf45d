/**
 * The error a ClickHouse store gives when it cannot get in: which server, as which user, and why
 * (an untrusted certificate, a refused login, nothing listening), with what to check. Built from
 * error codes and the server's own message only: the password and the key never reach it (the
 * client sends the password in a header, never in the URL or a message).
 */

const TLS_CAUSES: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed and not in tls.caFile',
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate chains to a CA that is not in tls.caFile',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate is not signed by a CA in tls.caFile',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its certificate is not signed by a CA in tls.caFile',
  UNABLE_TO_GET_ISSUER_CERT: 'its certificate is not signed by a CA in tls.caFile',
  CERT_SIGNATURE_FAILURE: 'its certificate does not verify against tls.caFile',
  CERT_HAS_EXPIRED: 'its certificate has expired',
  CERT_NOT_YET_VALID: 'its certificate is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: "its certificate does not name the URL's host",
};

/** ClickHouse error codes of a refused login (18.16 and current servers). */
const AUTH_CODES = new Set(['192', '193', '194', '516']);

export interface ConnectionTarget {
  url: string;
  username: string;
  tls: boolean;
}

export function explainConnectionError(e: unknown, to: ConnectionTarget): Error {
  const err = e as { code?: unknown; message?: unknown };
  const message = typeof err.message === 'string' ? err.message : String(e);
  // 18.16 answers over HTTP with `Code: 193, e.displayText() = ...`, which the client does not parse into `code`
  const code = typeof err.code === 'string' || typeof err.code === 'number' ? String(err.code) : (/^Code: (\d+)/.exec(message)?.[1] ?? '');
  const where = `clickhouse ${origin(to.url)} (user ${to.username})`;
  let why: string | undefined;
  if (code in TLS_CAUSES) why = `TLS: the server's certificate is not trusted: ${TLS_CAUSES[code]} (${code})`;
  else if (/^ERR_SSL_|^EPROTO$/.test(code) || /wrong version number|packet length too long|ssl3_get_record|tlsv1 alert/i.test(message))
    why = `TLS handshake failed (${code || 'EPROTO'}): ${to.url.startsWith('https:') ? 'is this port HTTPS?' : 'the port speaks TLS: use an https:// URL'}`;
  else if (AUTH_CODES.has(code) || /password|authentication failed|unknown user/i.test(message))
    why = `the server refused the login (code ${code || '?'}): check username and password/passwordFile`;
  else if (code === 'ECONNREFUSED') why = 'connection refused: is the server listening on that port?';
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') why = `the host name does not resolve (${code})`;
  if (why === undefined) return e instanceof Error ? e : new Error(message);
  return new Error(`${where}: ${why}`, { cause: e });
}

/** scheme://host:port, without any user info a URL might carry */
function origin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid url)';
  }
}
