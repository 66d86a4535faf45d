import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';

/**
 * A command's flags and operands: node's parseArgs (strict, operands allowed), then the command's
 * zod schema over what `input` makes of them. A bad invocation is written to stderr as
 * `sightline NAME: problem` and the usage line, and gives null (the command exits 2). An issue is
 * told by its message, which names the flag; an element of a repeated flag gets its place first
 * (`kube.1: expected NAME=VALUE`).
 */
export function commandOptions<S extends z.ZodType>(
  name: string,
  usage: string,
  args: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  schema: S,
  input: (values: Record<string, unknown>, operands: string[]) => unknown,
): z.infer<S> | null {
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return schema.parse(input(values, positionals));
  } catch (err) {
    const msg = err instanceof z.ZodError
      ? err.issues.map((i) => `${i.path.length > 1 ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; ')
      : (err as Error).message;
    process.stderr.write(`sightline ${name}: ${msg}\n${usage}\n`);
    return null;
  }
}
