import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { CoreV1Api, KubeConfig, PatchStrategy, Watch, setHeaderOptions } from '@kubernetes/client-node';
import { endpoints } from '@sightline/testkit';

const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;

// Without a controller-manager a deleted namespace never finishes terminating, so the smoke test
// reuses one namespace and deletes only its own pods.
const NAMESPACE = 'sightline-smoke';

const WatchedPod = z.object({
  metadata: z.object({ name: z.string(), resourceVersion: z.string() }),
  spec: z.object({ nodeName: z.string().optional() }),
  status: z.object({ phase: z.string().optional(), podIP: z.string().optional() }).optional(),
});
type WatchedPod = z.infer<typeof WatchedPod>;

function isStatusCode(err: unknown, code: number): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err as { code: unknown }).code === code;
}

async function ensureNamespace(core: CoreV1Api): Promise<void> {
  try {
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  } catch (err) {
    if (!isStatusCode(err, 409)) throw err;
  }
  // The ServiceAccount admission plugin rejects pods in a namespace without a `default` account,
  // which the (absent) controller-manager would normally create.
  try {
    await core.createNamespacedServiceAccount({ namespace: NAMESPACE, body: { metadata: { name: 'default' } } });
  } catch (err) {
    if (!isStatusCode(err, 409)) throw err;
  }
}

test('kube-apiserver: create a pod, patch its status, see both in a watch', { skip }, async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(endpoints().kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  await ensureNamespace(core);

  const name = `flow-source-${randomBytes(4).toString('hex')}`;
  const podIP = '10.244.1.17';
  const events: Array<{ type: string; pod: WatchedPod }> = [];
  let resolveSeen: () => void = () => {};
  const seen = new Promise<void>((resolve) => { resolveSeen = resolve; });
  let watchError: unknown;

  const abort = await new Watch(kc).watch(
    `/api/v1/namespaces/${NAMESPACE}/pods`,
    { fieldSelector: `metadata.name=${name}` },
    (type, obj) => {
      // An ERROR event carries a Status (e.g. "Too large resource version"), not a pod.
      if (type === 'ERROR') { watchError = new Error(`watch ERROR event: ${JSON.stringify(obj)}`); resolveSeen(); return; }
      const pod = WatchedPod.parse(obj);
      events.push({ type, pod });
      if (pod.status?.podIP === podIP && pod.status.phase === 'Running') resolveSeen();
    },
    (err) => { watchError = err ?? new Error('watch ended before the Running pod was seen'); resolveSeen(); },
  );
  try {
    const created = await core.createNamespacedPod({
      namespace: NAMESPACE,
      body: {
        metadata: { name, labels: { app: 'flow-source' } },
        spec: { nodeName: 'node-a', containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
      },
    });
    assert.equal(created.status?.phase, 'Pending');
    assert.equal(created.status?.podIP, undefined);

    const patched = await core.patchNamespacedPodStatus(
      { name, namespace: NAMESPACE, body: { status: { phase: 'Running', podIP, podIPs: [{ ip: podIP }], hostIP: '10.0.0.5' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    assert.equal(patched.status?.podIP, podIP);
    assert.equal(patched.status?.phase, 'Running');

    const timeout = setTimeout(() => { watchError = new Error('watch saw no Running pod with its IP within 20s'); resolveSeen(); }, 20_000);
    await seen;
    clearTimeout(timeout);
    assert.equal(watchError, undefined, String(watchError));

    assert.equal(events[0]?.type, 'ADDED');
    assert.equal(events[0]?.pod.status?.podIP, undefined);
    assert.equal(events[0]?.pod.spec.nodeName, 'node-a');
    const last = events.at(-1);
    assert.equal(last?.type, 'MODIFIED');
    assert.equal(last?.pod.status?.podIP, podIP);
    assert.equal(last?.pod.status?.phase, 'Running');
  } finally {
    abort.abort();
    // No kubelet confirms termination, so a graceful delete would leave the pod behind.
    await core.deleteNamespacedPod({ name, namespace: NAMESPACE, gracePeriodSeconds: 0 });
  }
});
