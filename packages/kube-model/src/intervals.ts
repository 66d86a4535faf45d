import type { KubeNode, Pod, Service } from './objects.js';

/**
 * When an object held its addresses, as epoch milliseconds, [start, end) with end = Infinity
 * while it still holds them. These are the lease intervals the attribution index keys flows by.
 */
export interface Interval {
  start: number;
  end: number;
}

export function timeMs(t: string | null): number {
  if (t === null) return NaN;
  const ms = Date.parse(t);
  return ms;
}

/**
 * A pod holds its IPs from its start time (the kubelet sets it before the sandbox gets an IP;
 * creation time when unset) until it finishes (Succeeded/Failed pods free their IP when the last
 * container exits) or is deleted (deletionTimestamp already includes the grace period).
 * Null when the pod has no IP of its own (hostNetwork pods use the node's, Pending pods none).
 *
 * A finished pod whose finish time is unknown gets an empty interval: guessing when it let the IP
 * go would attribute the next holder's flows to it.
 */
export function podInterval(pod: Pod): Interval | null {
  if (pod.hostNetwork || pod.podIPs.length === 0) return null;
  const start = timeMs(pod.startTime ?? pod.createdAt);
  if (Number.isNaN(start)) return null;
  let end = Infinity;
  if (pod.phase === 'Succeeded' || pod.phase === 'Failed') {
    const fin = timeMs(pod.finishedAt);
    end = Number.isNaN(fin) ? start : fin;
  }
  const del = timeMs(pod.deletedAt);
  if (!Number.isNaN(del) && del < end) end = del;
  return { start, end: Math.max(start, end) };
}

/** Nodes and services hold their addresses for their whole life. */
export function objectInterval(obj: KubeNode | Service): Interval | null {
  const start = timeMs(obj.createdAt);
  if (Number.isNaN(start)) return null;
  const del = timeMs(obj.deletedAt);
  return { start, end: Number.isNaN(del) ? Infinity : Math.max(start, del) };
}
