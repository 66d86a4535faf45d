import type { PipelineHealth, PipelineHealthSource } from '@sightline/api';
import type { PipelineResult } from './pipeline.js';

/**
 * The one-process mode's pipeline health, for the console: its figures are in this process (no
 * metrics listener to scrape). The embedded pipeline reads the configured sources once, so the
 * lag is now minus the newest flow end it stored, and nothing waits between stages once it is done.
 */
export function embeddedHealth(tenant: string, sources: string[], result: PipelineResult, finishedAt: number): PipelineHealthSource {
  return {
    async health(asked: string): Promise<PipelineHealth> {
      const now = Date.now();
      const mine = asked === tenant;
      const a = result.attribution;
      return {
        mode: 'embedded',
        at: now,
        sources: mine
          ? [
              {
                cloud: 'local',
                account: 'files',
                source: sources.join(', '),
                lagSeconds: Number.isFinite(result.toMs) ? Math.max(0, Math.round((now - result.toMs) / 1000)) : null,
                lastReadAt: finishedAt,
                objectsRead: result.objects - result.failed,
                records: result.flows,
                errors: result.failed + result.parse.errors,
                // the embedded mode keeps no dead letters: bad lines and objects are reported on stderr
                deadLetters: null,
              },
            ]
          : [],
        enricher: mine ? { lagMessages: 0, pendingRows: 0, attributedEnds: a.attributedSrc + a.attributedDst, unattributedEnds: a.unattributedSrc + a.unattributedDst } : null,
        unreachable: [],
      };
    },
  };
}
