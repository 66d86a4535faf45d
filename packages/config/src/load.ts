import { readFileSync } from 'node:fs';
// the subpath: a service that reads its config (kubetags) need not load service-kit's Kafka client
import { jsonSyntaxError } from '@sightline/service-kit/json-errors';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { apiInput, collectorInput, enricherInput, type ServiceInput } from './map.js';
import { BackendConfigSchema, formatPath, type BackendConfig } from './schema.js';

export type ServiceName = 'collector' | 'enricher' | 'api';

export class ConfigFileError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(`${file}: invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigFileError';
  }
}

/**
 * A configuration file's content: JSON, or YAML when it ends in `.yaml`/`.yml`. A syntax error is
 * told by line and column only: both parsers' own messages quote the text around it, which can be
 * a password.
 */
export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigFileError(file, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  return parseConfigText(text, file);
}

export function parseConfigText(text: string, file: string): unknown {
  if (/\.ya?ml$/i.test(file)) {
    // prettyErrors computes linePos (and a message quoting the line, which is not used)
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      throw new ConfigFileError(file, doc.errors.map((e) => {
        const at = e.linePos?.[0];
        return `YAML syntax error (${e.code})${at ? ` at line ${at.line}, column ${at.col}` : ''}`;
      }));
    }
    return doc.toJS({ maxAliasCount: 100 }) as unknown;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ConfigFileError(file, [jsonSyntaxError(text, file)]);
  }
}

/** The one backend file is told from a per-service file by its `version` and `tenants`, which no per-service file has. */
export function isBackendConfig(raw: unknown): boolean {
  return raw !== null && typeof raw === 'object' && 'tenants' in raw && 'version' in raw;
}

/**
 * Zod issues as `place: message` lines (`a.b[2].c`, one per unknown key). Messages only: zod's
 * default messages may quote the received value, which may be a secret.
 */
export function issueLines(
  issues: readonly z.core.$ZodIssue[],
  where: (p: readonly PropertyKey[]) => string = formatPath,
  /** an unknown key's message is the error map's (one line a key: "unknown key (did you mean brokers?)"), not zod's */
  keyMessages = false,
): string[] {
  return issues.flatMap((i) => {
    if (i.code !== 'unrecognized_keys') return [`${where(i.path)}: ${i.message}`];
    const msgs = i.message.split('\n');
    return i.keys.map((k, j) => `${where([...i.path, k])}: ${keyMessages && msgs.length === i.keys.length ? msgs[j]! : 'unknown key'}`);
  });
}

/** Validates the shared sections of the one file (tenants, tokens, what a service section may not set again). */
export function parseBackendConfig(raw: unknown, file: string): BackendConfig {
  const r = BackendConfigSchema.safeParse(raw, { reportInput: false });
  if (!r.success) throw new ConfigFileError(file, issueLines(r.error.issues, formatPath));
  return r.data;
}

const MAPPERS: Record<ServiceName, (c: BackendConfig) => ServiceInput> = { collector: collectorInput, enricher: enricherInput, api: apiInput };

/**
 * A service's configuration out of the one file: the whole checked, then the service's part mapped
 * to the shape it always took and parsed by its own schema; errors name places in the one file.
 */
export function serviceConfig<S extends z.ZodType>(raw: unknown, file: string, service: ServiceName, schema: S, opts: { error?: z.core.$ZodErrorMap } = {}): z.infer<S> {
  const whole = parseBackendConfig(raw, file);
  const { input, where } = MAPPERS[service](whole);
  const r = schema.safeParse(input, opts.error ? { reportInput: false, error: opts.error } : { reportInput: false });
  if (!r.success) throw new ConfigFileError(file, issueLines(r.error.issues, where, opts.error !== undefined));
  return r.data;
}

export interface ServiceConfigOptions {
  /** the service's part of the one backend file, when the file is one; absent: the service has its own file only (kubetags) */
  service?: ServiceName | undefined;
  /** the service's own messages for zod issues (the collector's source hints) */
  error?: z.core.$ZodErrorMap | undefined;
  /** how an issue's place is written (default `a.b[2].c`) */
  where?: ((p: readonly PropertyKey[]) => string) | undefined;
}

/**
 * A service's configuration out of a file's parsed content: its part of the one backend file, or
 * its own file parsed by its schema. Every problem is a ConfigFileError whose lines name places,
 * never values.
 */
export function parseServiceConfig<S extends z.ZodType>(raw: unknown, file: string, schema: S, opts: ServiceConfigOptions = {}): z.infer<S> {
  if (opts.service !== undefined && isBackendConfig(raw)) return serviceConfig(raw, file, opts.service, schema, opts.error ? { error: opts.error } : {});
  const r = schema.safeParse(raw, opts.error ? { reportInput: false, error: opts.error } : { reportInput: false });
  if (!r.success) throw new ConfigFileError(file, issueLines(r.error.issues, opts.where, opts.error !== undefined));
  return r.data;
}

/**
 * Every service's `loadConfig`: the file read (JSON, or YAML for `.yaml`/`.yml`; syntax errors by
 * position only) and its configuration parsed as `parseServiceConfig` does. The service turns the
 * ConfigFileError into its own error type and wording.
 */
export function loadServiceConfig<S extends z.ZodType>(file: string, schema: S, opts: ServiceConfigOptions = {}): z.infer<S> {
  return parseServiceConfig(readConfigFile(file), file, schema, opts);
}

/** The config file a service is started with: `--config FILE`, else the environment variable `env`. */
export function configFileArg(program: string, env: string, argv: readonly string[] = process.argv): string {
  const i = argv.indexOf('--config');
  const file = i === -1 ? process.env[env] : argv[i + 1];
  if (!file) throw new Error(`usage: ${program} --config FILE (or ${env})`);
  return file;
}
