import type { PipelineHealth, PipelineHealthSource } from '@sightline/api';
import type { PipelineResult } from './pipeline.js';

/**
 * The one-process mode's pipeline health, for the console: its figures are in this process (no
 * metrics listener to scrape). The embedded pipeline reads the configured sources once, so the
 * lag is now minus the newest flow end it stored, and nothing waits between stages once it is done.
 */
export function embeddedHealth(tenant: string, result: PipelineResult, finishedAt: number): PipelineHealthSource {
  return {
    async health(asked: string): Promise<PipelineHealth> {
      const now = Date.now();
      const mine = asked === tenant;
      const a = result.attribution;
      return {
        mode: 'embedded',
        at: now,
        // one row per configured source: its lag is now minus the newest flow end read from it
        sources: mine
          ? result.sources.map((t) => ({
              cloud: t.cloud ?? 'local',
              account: t.account ?? 'unknown',
              source: t.source,
              lagSeconds: Number.isFinite(t.newestMs) ? Math.max(0, Math.round((now - t.newestMs) / 1000)) : null,
              lastReadAt: t.objects > t.failed ? finishedAt : null,
              objectsRead: t.objects - t.failed,
              records: t.flows,
              errors: t.failed,
              // the embedded mode keeps no dead letters: bad lines and objects are reported on stderr
              deadLetters: null,
            }))
          : [],
        enricher: mine ? { lagMessages: 0, pendingRows: 0, attributedEnds: a.attributedSrc + a.attributedDst, unattributedEnds: a.unattributedSrc + a.unattributedDst } : null,
        unreachable: [],
      };
    },
  };
}
