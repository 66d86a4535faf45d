/**
 * Writes the AWS Parquet samples in src/testdata/aws/ with DuckDB, from the same documented
 * example lines as the text samples. AWS's Parquet schema (Athena DDL): underscored names,
 * int32 for version/ports/tcp_flags/traffic_path, int64 for protocol/packets/bytes/start/end,
 * strings elsewhere; files are gzip-compressed.
 *
 *   node --import tsx packages/parsers/scripts/make-aws-parquet.ts
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { fileURLToPath } from 'node:url';

const out = fileURLToPath(new URL('../src/testdata/aws/', import.meta.url));

const COLUMNS = `
  version INTEGER, account_id VARCHAR, interface_id VARCHAR, srcaddr VARCHAR, dstaddr VARCHAR,
  srcport INTEGER, dstport INTEGER, protocol BIGINT, packets BIGINT, bytes BIGINT, start BIGINT, "end" BIGINT,
  action VARCHAR, log_status VARCHAR, vpc_id VARCHAR, subnet_id VARCHAR, instance_id VARCHAR, tcp_flags INTEGER,
  type VARCHAR, pkt_srcaddr VARCHAR, pkt_dstaddr VARCHAR, region VARCHAR, az_id VARCHAR, sublocation_type VARCHAR,
  sublocation_id VARCHAR, pkt_src_aws_service VARCHAR, pkt_dst_aws_service VARCHAR, flow_direction VARCHAR,
  traffic_path INTEGER, vendor_note VARCHAR`;

const ROWS = `
  (5, '123456789012', 'eni-0c3a7b5e9d1f24680', '10.0.1.5', '52.94.133.131', 44018, 443, 6, 12, 2170, 1620140661, 1620140721,
   'ACCEPT', 'OK', 'vpc-0d1f0c3b2a5e4f6a7', 'subnet-0a9b8c7d6e5f40312', 'i-0b1c2d3e4f5a69788', 3, 'IPv4', '10.0.1.77', '52.94.133.131',
   'us-east-1', 'use1-az1', NULL, NULL, NULL, 'DYNAMODB', 'egress', 8, 'first'),
  (5, '123456789012', 'eni-0c3a7b5e9d1f24680', '52.94.133.131', '10.0.1.5', 443, 44018, 6, 10, 8823, 1620140661, 1620140721,
   'ACCEPT', 'OK', 'vpc-0d1f0c3b2a5e4f6a7', 'subnet-0a9b8c7d6e5f40312', 'i-0b1c2d3e4f5a69788', 19, 'IPv4', '52.94.133.131', '10.0.1.77',
   'us-east-1', 'use1-az1', NULL, NULL, 'DYNAMODB', NULL, 'ingress', NULL, NULL),
  (5, '123456789012', 'eni-0c3a7b5e9d1f24680', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1620140661, 1620140721,
   NULL, 'NODATA', 'vpc-0d1f0c3b2a5e4f6a7', 'subnet-0a9b8c7d6e5f40312', NULL, NULL, NULL, NULL, NULL,
   'us-east-1', 'use1-az1', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (5, '123456789012', 'eni-0c3a7b5e9d1f24680', '2001:0db8:1234:a100:0000:0000:0000:0001', '2001:db8:1234:a102::9', 34892, 22, 6, 54, 8855, 1620140661, 1620140721,
   'REJECT', 'OK', 'vpc-0d1f0c3b2a5e4f6a7', 'subnet-0a9b8c7d6e5f40312', NULL, 2, 'IPv6', '2001:db8:1234:a100::1', '2001:db8:1234:a102::9',
   'us-east-1', 'use1-az1', NULL, NULL, NULL, NULL, 'ingress', NULL, NULL),
  (5, '123456789012', 'eni-0c3a7b5e9d1f24680', '10.0.1.999', '10.0.1.5', 1, 2, 6, 1, 40, 1620140661, 1620140721,
   'ACCEPT', 'OK', NULL, NULL, NULL, NULL, 'IPv4', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'egress', 1, 'bad srcaddr'),
  (5, '210987654321', 'eni-0e1d2c3b4a5968778', '10.0.2.10', '198.51.100.20', 36012, 80, 6, 21, 5310, 1620140662, 1620140722,
   'ACCEPT', 'OK', 'vpc-0d1f0c3b2a5e4f6a7', 'subnet-0f9e8d7c6b5a40312', NULL, 27, 'IPv4', '10.0.2.10', '198.51.100.20',
   'us-west-2', 'usw2-lax1-az1', 'localzone', 'usw2-lax1-az1', NULL, NULL, 'egress', 3, NULL)`;

const instance = await DuckDBInstance.create(':memory:');
const db = await instance.connect();
await db.run(`CREATE TABLE flows (${COLUMNS})`);
await db.run(`INSERT INTO flows VALUES ${ROWS}`);
// what AWS writes: underscored names, gzip
await db.run(`COPY flows TO '${out}aws-v5.gzip.parquet' (FORMAT parquet, COMPRESSION gzip)`);
// the text spelling of names and another codec: accepted as well
const hyphen = (await db.runAndReadAll(`SELECT column_name FROM (DESCRIBE flows)`)).getRows().map((r) => String(r[0]));
const select = hyphen.map((c) => `"${c}" AS "${c.replaceAll('_', '-')}"`).join(', ');
await db.run(`COPY (SELECT ${select} FROM flows) TO '${out}aws-v5-hyphen.zstd.parquet' (FORMAT parquet, COMPRESSION zstd)`);
// 5000 default-format rows: DuckDB rounds row groups to 2048 rows, so this file has three,
// and row 4500 carries a bad address to check row numbering across groups
await db.run(`COPY (
  SELECT 2 AS version, '123456789010' AS account_id, 'eni-1235b8ca123456789' AS interface_id,
    CASE WHEN i = 4499 THEN 'not-an-ip' ELSE '10.0.' || (i // 256) || '.' || (i % 256) END AS srcaddr,
    '172.31.16.21' AS dstaddr, (1024 + i)::INTEGER AS srcport, 443::INTEGER AS dstport, 6::BIGINT AS protocol,
    (i + 1)::BIGINT AS packets, ((i + 1) * 100)::BIGINT AS bytes, (1418530010 + i)::BIGINT AS start, (1418530070 + i)::BIGINT AS "end",
    'ACCEPT' AS action, 'OK' AS log_status
  FROM range(5000) t(i) ORDER BY i
) TO '${out}aws-v2-rowgroups.gzip.parquet' (FORMAT parquet, COMPRESSION gzip, ROW_GROUP_SIZE 2048)`);
// not a flow log: no AWS field at all
await db.run(`COPY (SELECT 1 AS a, 'x' AS b) TO '${out}not-aws.parquet' (FORMAT parquet)`);
db.closeSync();
process.stdout.write(`wrote ${out}aws-v5.gzip.parquet, aws-v5-hyphen.zstd.parquet, not-aws.parquet\n`);
