import { FIELD_BY_NAME } from '@sightline/flow';
import { normalizeIp } from '@sightline/flow';
import { quoteIdent, quoteNumber, quoteString } from './clickhouse-sql.js';
import { ROLLUP_DIMS, SERVICE_PORT } from './schema.js';

/**
 * The parts of a read statement both engines share: derived dimensions (one name over the clouds'
 * own fields), and filters beyond equality (not-in, prefix, CIDR). Each engine gives a dialect:
 * how a value enters the statement (a DuckDB parameter, a quoted ClickHouse literal: 18.16 has no
 * parameters) and how a column is named; nothing else builds SQL from input.
 */

export type Engine = 'duckdb' | 'clickhouse';

/** One of the alternatives of a derived field, taken in order (the first with a value wins). */
type Alt =
  /** a field as it is */
  | { field: string }
  /** GCP: the reporter's side (`src_…` when the reporter is SRC or SRC_GATEWAY, `dest_…` otherwise) */
  | { reporter: [src: string, dest: string] }
  /** the part of a field a pattern finds (Azure resource ids: the VNet, the subnet) */
  | { field: string; extract: string };

/**
 * Dimensions over the clouds' fields, one column each per cloud (each record fills its own cloud's).
 * Azure records carry no region, zone nor interface id (the NIC's MAC stands for the interface); GCP
 * records carry no interface. `src_peer`/`dst_peer`: 'internet' for an end attributed to no
 * cluster whose address is public, else null (the edges query's split of unattributed peers).
 */
export const DERIVED_FIELDS: Readonly<Record<string, readonly Alt[] | 'peer'>> = {
  net_region: [{ field: 'region' }, { reporter: ['src_instance_region', 'dest_instance_region'] }],
  net_zone: [{ field: 'az_id' }, { field: 'location' }],
  net_network: [
    { field: 'vpc_id' },
    { reporter: ['src_vpc_vpc_name', 'dest_vpc_vpc_name'] },
    { field: 'resource_id', extract: '(?i)^(.*/virtualnetworks/[^/]+)' },
  ],
  net_subnet: [
    { field: 'subnet_id' },
    { field: 'subnetwork_name' },
    { field: 'resource_id', extract: '(?i)^(.*/virtualnetworks/[^/]+/subnets/[^/]+)' },
  ],
  net_interface: [{ field: 'interface_id' }, { field: 'mac' }],
  src_peer: 'peer',
  dst_peer: 'peer',
};

export const isDerived = (f: string): boolean => Object.hasOwn(DERIVED_FIELDS, f);
/** A field a query may name: a stored flow field, a derived one, or the service port (a rollup key computed from the two ports). */
export const isQueryField = (f: string): boolean => FIELD_BY_NAME.has(f) || isDerived(f) || f === SERVICE_PORT;
export const isStringField = (f: string): boolean => isDerived(f) || FIELD_BY_NAME.get(f)?.kind === 'string';

/** Networks that are not the internet: private, shared (CGN), loopback, link-local, multicast, reserved; IPv6 ULA, link-local, multicast, loopback, mapped and unspecified. */
export const NON_INTERNET = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.168.0.0/16',
  '198.18.0.0/15', '224.0.0.0/3',
  '::/96', '::ffff:0:0/96', '64:ff9b:1::/48', 'fc00::/7', 'fe80::/10', 'ff00::/8',
];

/** An address range: IPv4 as numbers, IPv6 as 32 hex digits (upper case), both ends inclusive. */
export type Cidr = { v: 4; lo: number; hi: number } | { v: 6; lo: string; hi: string };

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (/32, /128); null when it is neither. */
export function parseCidr(text: string): Cidr | null {
  const m = /^([^/]+)(?:\/([0-9]{1,3}))?$/.exec(text.trim());
  if (!m) return null;
  const addr = normalizeIp(m[1]!);
  if (addr === null) return null;
  const v4 = !addr.includes(':');
  const bits = v4 ? 32 : 128;
  const len = m[2] === undefined ? bits : Number(m[2]);
  if (!(len >= 0 && len <= bits)) return null;
  if (v4) {
    const n = addr.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    const size = 2 ** (32 - len);
    const lo = Math.floor(n / size) * size;
    return { v: 4, lo, hi: lo + size - 1 };
  }
  let x = 0n;
  for (const w of ipv6Words(addr)) x = (x << 16n) | BigInt(w);
  const host = (1n << BigInt(128 - len)) - 1n;
  const lo = x & ~host & ((1n << 128n) - 1n);
  const hex = (v: bigint) => v.toString(16).toUpperCase().padStart(32, '0');
  return { v: 6, lo: hex(lo), hi: hex(lo | host) };
}

/** The eight 16-bit words of a normalized IPv6 address (dotted tail included). */
function ipv6Words(addr: string): number[] {
  const [head, tail] = addr.includes('::') ? addr.split('::') as [string, string] : [addr, undefined];
  const words = (s: string): number[] =>
    s === ''
      ? []
      : s.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const o = g.split('.').map(Number);
          return [(o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!];
        });
  const h = words(head);
  if (tail === undefined) return h;
  const t = words(tail);
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

export interface Dialect {
  engine: Engine;
  /** a value in the statement: a parameter placeholder (DuckDB) or a literal (ClickHouse) */
  bind(v: string | number): string;
  /** the column of a stored field in the table read (a rollup key on ClickHouse) */
  column(field: string): string;
  /** ClickHouse rollups hold '' and -1 for absent keys instead of null */
  sentinelNulls: boolean;
  /** the field is a numeric rollup key (its absent value is -1) */
  numericKey(field: string): boolean;
  /** the statement reads a rollup (keys stored), not the raw table (keys computed) */
  rollup: boolean;
}

const duckIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Column names of the raw table (derived fields included) or of a rollup for DuckDB; `bind` pushes parameters. */
export function duckdbDialect(params: unknown[], rollup = false): Dialect {
  return {
    engine: 'duckdb',
    bind(v) {
      params.push(v);
      return `$${params.length}`;
    },
    column: duckIdent,
    sentinelNulls: false,
    numericKey: () => false,
    rollup,
  };
}

/** ClickHouse: literals through the quoting functions; rollup keys are `k_<field>`. */
export function clickhouseDialect(rollup: boolean, numericKeys: ReadonlySet<string>): Dialect {
  return {
    engine: 'clickhouse',
    bind: (v) => (typeof v === 'string' ? quoteString(v) : quoteNumber(v)),
    column: (f) => (rollup ? quoteIdent(`k_${f}`) : quoteIdent(f)),
    sentinelNulls: rollup,
    numericKey: (f) => rollup && numericKeys.has(f),
    rollup,
  };
}

/** The SQL expression of a field: its column, or a derived field's expression over the raw table's columns. */
export function fieldExpr(d: Dialect, field: string): string {
  if (field === SERVICE_PORT) return d.rollup ? d.column(field) : servicePortSql(d.engine, d.engine === 'duckdb' ? duckIdent : quoteIdent);
  const def = DERIVED_FIELDS[field];
  if (def === undefined) return d.column(field);
  const col = (f: string) => (d.engine === 'duckdb' ? duckIdent(f) : quoteIdent(f));
  if (def === 'peer') {
    const side = field.slice(0, 3);
    const addr = col(`${side}_addr`);
    const inside = NON_INTERNET.map((c) => cidrSql(d.engine, addr, parseCidr(c)!)).join(' OR ');
    return `CASE WHEN ${col(`${side}_k8s_cluster`)} IS NULL AND ${addr} IS NOT NULL AND ${addrKnown(d.engine, addr)} AND NOT (${inside}) THEN 'internet' END`;
  }
  const alts = def.map((a) => {
    if ('reporter' in a) {
      const dest = d.engine === 'duckdb' ? `starts_with(${col('reporter')}, 'DEST')` : `startsWith(ifNull(${col('reporter')}, ''), 'DEST')`;
      return `CASE WHEN ${dest} THEN ${col(a.reporter[1])} ELSE ${col(a.reporter[0])} END`;
    }
    if ('extract' in a)
      return d.engine === 'duckdb'
        ? `nullif(regexp_extract(${col(a.field)}, '${a.extract}', 1), '')`
        : `nullIf(extract(ifNull(${col(a.field)}, ''), '${a.extract}'), '')`;
    return col(a.field);
  });
  return `coalesce(${alts.join(', ')})`;
}

/**
 * The service port over the raw table's columns (schema.ts SERVICE_PORT): the lower of the two
 * ports, the one present when the other is absent, null when both are. The rollups store exactly
 * this (ClickHouse: -1 for null), computed by the same expression (`servicePortKeySql`).
 */
export function servicePortSql(engine: Engine, col: (f: string) => string): string {
  const s = col('src_port');
  const t = col('dst_port');
  // one port absent: least(t, t) or least(s, s); both absent: null (ClickHouse 18.16 and DuckDB alike)
  return engine === 'duckdb' ? `least(coalesce(${s}, ${t}), coalesce(${t}, ${s}))` : `least(ifNull(${s}, ${t}), ifNull(${t}, ${s}))`;
}

/** The address parses as the family its text says (ClickHouse's conversions give 0 for text they cannot read). */
function addrKnown(engine: Engine, addr: string): string {
  return engine === 'duckdb'
    ? `(contains(${addr}, '.') OR contains(${addr}, ':'))`
    : `(match(${addr}, '^[0-9]{1,3}(\\\\.[0-9]{1,3}){3}$') OR position(${addr}, ':') > 0)`;
}

/** The address column (a string, dotted quad or RFC 5952) inside the range. Range bounds are ours (parsed), never input text. */
function cidrSql(engine: Engine, addr: string, c: Cidr): string {
  if (engine === 'clickhouse') {
    // 18.16 converts text it cannot read to 0, current servers throw (every row is converted, the
    // AND does not short-circuit): only text of the right family reaches the conversion
    const text = `ifNull(${addr}, '')`;
    if (c.v === 4) {
      const dotted = `match(${text}, '^[0-9]{1,3}(\\\\.[0-9]{1,3}){3}$')`;
      return `(${dotted} AND IPv4StringToNum(if(${dotted}, ${text}, '0.0.0.0')) BETWEEN ${quoteNumber(c.lo)} AND ${quoteNumber(c.hi)})`;
    }
    const colon = `position(${text}, ':') > 0`;
    return `(${colon} AND hex(IPv6StringToNum(if(${colon}, ${text}, '::'))) BETWEEN '${c.lo}' AND '${c.hi}')`;
  }
  // stored addresses are normalized (dotted quad or RFC 5952), and TRY_CAST gives null for any other text:
  // no regular expression per row (the internet-peer split runs 16 of these on every unattributed end)
  if (c.v === 4) return `(NOT contains(${addr}, ':') AND ${duckIpv4(addr)} BETWEEN ${c.lo} AND ${c.hi})`;
  return `(contains(${addr}, ':') AND ${duckIpv6Hex(addr)} BETWEEN '${c.lo}' AND '${c.hi}')`;
}

function duckIpv4(a: string): string {
  return `(${[0, 1, 2, 3].map((i) => `TRY_CAST(split_part(${a}, '.', ${i + 1}) AS BIGINT) * ${256 ** (3 - i)}`).join(' + ')})`;
}

/**
 * 32 upper-case hex digits of an IPv6 address in RFC 5952 form (DuckDB has no inet type without an
 * extension): the groups either side of `::`, zero-padded, with the missing groups as zeros; an
 * IPv4-mapped address (`::ffff:1.2.3.4`) gets its dotted tail as hex.
 */
function duckIpv6Hex(a: string): string {
  const groups = (s: string) => `list_filter(string_split(${s}, ':'), g -> g <> '')`;
  const hex = (s: string) => `array_to_string(list_transform(${groups(s)}, g -> lpad(g, 4, '0')), '')`;
  const left = `split_part(${a}, '::', 1)`;
  const right = `CASE WHEN contains(${a}, '::') THEN split_part(${a}, '::', 2) ELSE '' END`;
  const plain = `upper(${hex(left)} || repeat('0000', 8 - len(${groups(left)}) - len(${groups(right)})) || ${hex(right)})`;
  const v4 = `substr(${a}, 8)`;
  const mapped = `'00000000000000000000FFFF' || upper(lpad(to_hex(${duckIpv4(v4)}), 8, '0'))`;
  return `(CASE WHEN starts_with(${a}, '::ffff:') AND contains(${a}, '.') THEN ${mapped} ELSE ${plain} END)`;
}

export type FilterOp = 'in' | 'not_in' | 'prefix' | 'cidr';

/** One filter as a boolean SQL expression; values enter only through `d.bind`. */
export function filterSql(d: Dialect, f: { field: string; op?: FilterOp | undefined; values: readonly (string | number | null)[] }): string {
  const op = f.op ?? 'in';
  const col = fieldExpr(d, f.field);
  const vals = f.values.filter((v): v is string | number => v !== null);
  const hasNull = vals.length < f.values.length;
  if (op === 'prefix') {
    const alts = vals.map((v) => {
      const s = String(v);
      return d.engine === 'duckdb' ? `starts_with(${col}, ${d.bind(s)})` : `substring(${col}, 1, ${quoteNumber(Buffer.byteLength(s))}) = ${d.bind(s)}`;
    });
    return `(${alts.length > 0 ? alts.join(' OR ') : 'false'})`;
  }
  if (op === 'cidr') {
    const alts = vals.map((v) => {
      const c = parseCidr(String(v));
      if (c === null) throw new Error(`store query: ${JSON.stringify(v)} is not an IPv4 or IPv6 network (such as 10.0.0.0/8)`);
      return cidrSql(d.engine, col, c);
    });
    return `(${alts.length > 0 ? alts.join(' OR ') : 'false'})`;
  }
  if (d.sentinelNulls && !isDerived(f.field)) {
    // ClickHouse rollups: absent is a value of its own ('' or -1), so in and not-in are exact complements
    const all = [...vals.map((v) => d.bind(v)), ...(hasNull ? [d.numericKey(f.field) ? '-1' : "''"] : [])];
    return `${col} ${op === 'in' ? 'IN' : 'NOT IN'} (${all.join(', ')})`;
  }
  const list = vals.length > 0 ? vals.map((v) => d.bind(v)).join(', ') : '';
  if (op === 'in') {
    const alts: string[] = [];
    if (vals.length > 0) alts.push(`${col} IN (${list})`);
    if (hasNull) alts.push(`${col} IS NULL`);
    return `(${alts.join(' OR ')})`;
  }
  // not in: the rows `in` would not match; an absent value matches unless null is listed
  if (vals.length === 0) return `(${col} IS NOT NULL)`;
  return hasNull ? `(${col} IS NOT NULL AND ${col} NOT IN (${list}))` : `(${col} IS NULL OR ${col} NOT IN (${list}))`;
}

/** Every field a rollup holds: a query naming only these (filters included) may read a rollup. */
export const rollupHolds = (f: string): boolean => ROLLUP_DIMS.includes(f);
