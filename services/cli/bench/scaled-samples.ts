import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadEmbeddedConfig } from '../src/embedded/config.js';
import { localFiles } from '@sightline/object-store';

/**
 * The embedded benchmarks' data: `scale` times the sample traffic (samples/make-samples.ts,
 * SAMPLES_SCALE) with the samples' config, generated once per scale (deterministic) into `dataDir`
 * and kept there; the objects in the order the demo's local source lists them. Prints their size.
 */
export function scaledSamples(root: string, scale: number, dataDir: string): { configFile: string; cfg: ReturnType<typeof loadEmbeddedConfig>; files: string[] } {
  const configFile = path.join(dataDir, 'sightline.json');
  if (!fs.existsSync(path.join(dataDir, '.complete'))) {
    console.log(`generating ${scale}x the sample traffic into ${dataDir} ...`);
    fs.rmSync(dataDir, { recursive: true, force: true });
    execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'samples/make-samples.ts'), dataDir], {
      env: { ...process.env, SAMPLES_SCALE: String(scale) },
      stdio: 'inherit',
    });
    fs.copyFileSync(path.join(root, 'samples/sightline.json'), configFile);
    fs.writeFileSync(path.join(dataDir, '.complete'), '');
  }
  const cfg = loadEmbeddedConfig(configFile);
  const files = localFiles(cfg.config.sources.map((s) => path.resolve(cfg.dir, s)));
  const bytes = files.reduce((n, f) => n + fs.statSync(f).size, 0);
  console.log(`${files.length} objects, ${(bytes / 2 ** 20).toFixed(0)} MiB stored, ${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(1)}`);
  return { configFile, cfg, files };
}
