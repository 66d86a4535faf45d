import { readFileSync } from 'node:fs';
import { jsonSyntaxError } from '@sightline/service-kit';
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

/** Messages only: zod's default messages may quote the received value, which may be a secret. */
function issueLines(issues: readonly z.core.$ZodIssue[], where: (p: readonly PropertyKey[]) => string): string[] {
  return issues.flatMap((i) =>
    i.code === 'unrecognized_keys' ? i.keys.map((k) => `${where([...i.path, k])}: unknown key`) : [`${where(i.path)}: ${i.message}`],
  );
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
  if (!r.success) throw new ConfigFileError(file, issueLines(r.error.issues, where));
  return r.data;
}
