import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProviderId } from './placement.js';

test('providerID: AWS (zone and instance, no account), GCE (project), Azure VM and VMSS (subscription, lower case)', () => {
  assert.deepEqual(parseProviderId('aws:///us-east-1a/i-0a1b2c3d4e5f60001'), { cloud: 'aws', account: null, zone: 'us-east-1a', instance: 'i-0a1b2c3d4e5f60001' });
  assert.deepEqual(parseProviderId('aws:///i-0a1b2c3d4e5f60001'), { cloud: 'aws', account: null, zone: null, instance: 'i-0a1b2c3d4e5f60001' });
  assert.deepEqual(parseProviderId('gce://acme-prod/us-east1-b/gke-prod-pool-1-3f2a9c1e-x7k2'), { cloud: 'gcp', account: 'acme-prod', zone: 'us-east1-b', instance: 'gke-prod-pool-1-3f2a9c1e-x7k2' });
  assert.deepEqual(
    parseProviderId('azure:///subscriptions/5F1C2A3B-4D5E-6F70-8192-A3B4C5D6E7F8/resourceGroups/mc_rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-np-vmss/virtualMachines/3'),
    { cloud: 'azure', account: '5f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8', zone: null, instance: 'aks-np-vmss_3' },
  );
  assert.equal(parseProviderId('azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1')?.instance, 'vm1');
  for (const other of ['kind://docker/kind/kind-control-plane', 'gce://only-two/parts', 'aws:///us-east-1a/not-an-instance', '', null]) assert.equal(parseProviderId(other), null, String(other));
});
