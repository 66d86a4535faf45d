import { randomBytes } from 'node:crypto';

/** Tests that need the emulators (`pnpm infra:up`) skip with SIGHTLINE_SKIP_INFRA=1. */
export const skipInfra = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;

/** Bucket, container and queue names unique per run, so runs never see each other's objects. */
export const uniqueName = (what: string) => `sl-${what}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
