import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'puppeteer-core';
import { unattributedShare, type FlowsAnswer, type PipelineHealth } from '../src/health-data.js';
import { formatValue } from '../src/view.js';
import type { TopNAnswer, SeriesAnswer } from '../src/api.js';
import { launch, screenshotPath, watchProblems } from './browser.js';
import { startSightline, type Started } from './sightline-start.js';

/**
 * The console in a real browser (Debian's headless Chromium) against a real api: `sightline start`
 * over the samples, DuckDB underneath. Every page's numbers are checked against the API's answer to
 * the same query, asked here with the same token; screenshots of every page at 1280x800 and 390x844
 * go to services/console/test-output/.
 */
let sl: Started;
let browser: Browser;

before(async () => {
  sl = await startSightline();
  browser = await launch();
}, { timeout: 300_000 });
after(async () => {
  await browser?.close();
  await sl?.stop();
});

async function api<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(sl.apiUrl + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${sl.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `${path}: ${text}`);
  return JSON.parse(text) as T;
}

/** A page with CSP violations and errors recorded, signed in (the token typed into the form). */
async function signedIn(width: number, height: number, hash?: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  await page.setViewport({ width, height });
  await page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  const problems = watchProblems(page);
  const url = hash === undefined ? sl.consoleUrl : sl.consoleUrl.replace(/#.*$/, hash);
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#token');
  await page.type('#token', sl.token);
  await page.keyboard.press('Enter');
  await page.waitForSelector('main[data-page]', { timeout: 30_000 });
  return { page, problems };
}

async function range(page: Page): Promise<{ from: number; to: number }> {
  return page.$eval('.resolved', (e) => ({ from: Number((e as HTMLElement).dataset.from), to: Number((e as HTMLElement).dataset.to) }));
}

/** Waits until the page has no Loading… left (every query of the page answered). */
async function settled(page: Page, selector: string): Promise<void> {
  await page.waitForSelector(selector, { timeout: 60_000 });
  await page.waitForFunction(() => document.querySelectorAll('.loading').length === 0, { timeout: 60_000 });
}

async function go(page: Page, p: string): Promise<void> {
  await page.click(`nav a[data-page=${p}]`);
  await page.waitForSelector(`main[data-page=${p}]`);
}

async function rowsOf(page: Page, testid: string): Promise<{ key: string; value: string; text: string }[]> {
  return page.$$eval(`[data-testid=${testid}] tbody tr`, (trs) =>
    trs.map((tr) => ({ key: (tr as HTMLElement).dataset.key ?? '', value: (tr as HTMLElement).dataset.value ?? '', text: tr.querySelector('td.num')?.textContent ?? '' })),
  );
}

test('sign in: the token is asked for, kept out of the URL, and a wrong one is refused', { timeout: 120_000 }, async () => {
  assert.match(sl.stdout(), /console: http:\/\/127\.0\.0\.1:\d+\/console\/#\/map\?from=/, 'sightline start prints the console URL');
  assert.ok(!sl.consoleUrl.includes(sl.token), 'the printed console URL carries no token');
  const page = await browser.newPage();
  const problems = watchProblems(page);
  await page.setViewport({ width: 1280, height: 800 });
  await page.goto(sl.consoleUrl);
  await page.waitForSelector('#token');
  await page.screenshot({ path: screenshotPath('signin-1280x800') });
  await page.type('#token', 'x'.repeat(43));
  await page.keyboard.press('Enter');
  await page.waitForSelector('.signin .error');
  assert.match(await page.$eval('.signin .error', (e) => e.textContent ?? ''), /Unknown token/);

  await page.$eval('#token', (e) => ((e as HTMLInputElement).value = ''));
  await page.type('#token', sl.token);
  await page.keyboard.press('Enter');
  await page.waitForSelector('main[data-page=map]');
  assert.ok(!page.url().includes(sl.token), 'no token in the URL');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('sightline.readToken')), sl.token, 'kept in this tab only');
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');
  // sign out forgets it
  await page.click('.signout');
  await page.waitForSelector('#token');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('sightline.readToken')), null);
  // the refused token's 401 is the only error the browser logged
  assert.deepEqual(problems.filter((p) => !/401/.test(p)), []);
  await page.close();
});

test('every page shows what the API answers to the same query', { timeout: 300_000 }, async () => {
  const { page, problems } = await signedIn(1280, 800);
  const r = await range(page);
  assert.ok(r.to > r.from);

  // Service map: nodes, edges and the total, and the heaviest edges, against /v1/query/edges
  await settled(page, '[data-testid=map-summary]');
  const edges = await api<{ nodes: unknown[]; edges: { src: string; dst: string; bytes: number }[] }>('/v1/query/edges', { from: r.from, to: r.to, metric: 'bytes', filters: [], limit: 1000, group: 'workload', peers: 'split' });
  const summary = await page.$eval('[data-testid=map-summary]', (e) => ({ ...(e as HTMLElement).dataset }));
  assert.equal(Number(summary.nodes), edges.nodes.length);
  assert.equal(Number(summary.edges), edges.edges.length);
  assert.equal(Number(summary.total), edges.edges.reduce((a, e) => a + e.bytes, 0));
  assert.ok(edges.edges.length >= 20, 'the samples make a map');
  const heaviest = await rowsOf(page, 'map-edges');
  const want = [...edges.edges].sort((a, b) => b.bytes - a.bytes).slice(0, 15);
  assert.deepEqual(heaviest.map((h) => Number(h.value)), want.map((e) => e.bytes));
  assert.deepEqual(heaviest.map((h) => h.text), want.map((e) => formatValue('bytes', e.bytes)));
  assert.equal(await page.$eval('[data-testid=map-canvas]', (e) => (e as HTMLElement).dataset.edges), String(edges.edges.length), 'sigma drew every edge');
  await page.screenshot({ path: screenshotPath('map-1280x800') });

  // the filter bar offers the API's own dimensions and operators (its OpenAPI document)
  const doc = await (await fetch(`${sl.apiUrl}/v1/openapi.json`)).json() as { components: { schemas: { TopNRequest: { properties: { dimensions: { items: { enum: string[] } }; filters: { items: { anyOf: { properties: { op: { const: string } } }[] } } } } } } };
  const tn = doc.components.schemas.TopNRequest.properties;
  assert.deepEqual(await page.$$eval('select[aria-label="Filter dimension"] option', (os) => os.map((o) => (o as HTMLOptionElement).value)), tn.dimensions.items.enum);
  assert.deepEqual(await page.$$eval('select[aria-label="Filter operator"] option', (os) => os.map((o) => (o as HTMLOptionElement).value)), tn.filters.items.anyOf.map((v) => v.properties.op.const));

  // search: the nodes whose workload matches
  await page.type('input[type=search]', 'storefront');
  const matching = (edges.nodes as { workload: string | null }[]).filter((n) => n.workload?.includes('storefront')).length;
  assert.ok(matching >= 1);
  await page.waitForFunction((n) => document.getElementById('hits')?.textContent === `${n} matching`, {}, matching);
  await page.screenshot({ path: screenshotPath('map-search-1280x800') });
  await page.$eval('input[type=search]', (e) => ((e as HTMLInputElement).value = ''));
  await page.type('input[type=search]', ' ');
  await page.keyboard.press('Backspace');

  // an edge's details: its ports against top-N with both ends' filters
  await page.click('[data-testid=map-edges] tbody tr:first-child td.num button');
  await settled(page, '[data-testid=details-ports]');
  const sel = decodeURIComponent(new URL(page.url()).hash);
  assert.match(sel, /sel=e\|/, 'the selection is in the URL');
  const top = want[0]!;
  const nodes = edges.nodes as { id: string; type: string; cluster: string | null; namespace: string | null; workload: string | null }[];
  const end = (id: string, side: 'src' | 'dst') => {
    const n = nodes.find((x) => x.id === id)!;
    if (n.type !== 'workload') return [{ dimension: `${side}_cluster`, op: 'eq', value: null }];
    return [
      { dimension: `${side}_cluster`, op: 'eq', value: n.cluster },
      { dimension: `${side}_workload`, op: 'eq', value: n.workload },
      ...(n.namespace === null ? [] : [{ dimension: `${side}_namespace`, op: 'eq', value: n.namespace }]),
    ];
  };
  const ports = await api<TopNAnswer>('/v1/query/topn', { from: r.from, to: r.to, metric: 'bytes', dimensions: ['dst_port', 'protocol'], filters: [...end(top.src, 'src'), ...end(top.dst, 'dst')], limit: 10 });
  const shownPorts = await rowsOf(page, 'details-ports');
  assert.deepEqual(shownPorts.map((p) => [JSON.parse(p.key), Number(p.value)]), ports.rows.map((x) => [[x.key.dst_port ?? null, x.key.protocol ?? null], x.value]));
  await page.screenshot({ path: screenshotPath('map-edge-selected-1280x800') });

  // Top talkers, with a filter added through the filter bar
  await go(page, 'top');
  await settled(page, '[data-testid=top-table]');
  await page.select('select[aria-label="Filter dimension"]', 'dst_cluster');
  await page.select('select[aria-label="Filter operator"]', 'eq');
  await page.type('input[aria-label="Filter value"]', 'web-gke');
  await page.click('.addfilter button[type=submit]');
  await page.waitForSelector('.chip[data-filter="dst_cluster~eq~web-gke"]');
  await settled(page, '[data-testid=top-table]');
  await page.waitForFunction(() => !document.querySelector('[data-testid=top-table] tbody tr td')?.textContent?.includes('(null)') || true);
  const topAnswer = await api<TopNAnswer>('/v1/query/topn', { from: r.from, to: r.to, metric: 'bytes', dimensions: ['src_workload', 'dst_workload'], filters: [{ dimension: 'dst_cluster', op: 'eq', value: 'web-gke' }], limit: 20 });
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=top-table] tbody tr').length === n, {}, topAnswer.rows.length);
  const shownTop = await rowsOf(page, 'top-table');
  assert.deepEqual(shownTop.map((x) => [JSON.parse(x.key), Number(x.value), x.text]), topAnswer.rows.map((x) => [[x.key.src_workload ?? null, x.key.dst_workload ?? null], x.value, formatValue('bytes', x.value)]));
  assert.match(decodeURIComponent(page.url()), /f=dst_cluster~eq~web-gke/, 'the filter is in the URL');
  await page.screenshot({ path: screenshotPath('top-1280x800') });

  // Time series: per destination workload, totals against /v1/query/timeseries of each
  await go(page, 'series');
  await settled(page, '[data-testid=series-table]');
  const byDst = await api<TopNAnswer>('/v1/query/topn', { from: r.from, to: r.to, metric: 'bytes', dimensions: ['dst_workload'], filters: [{ dimension: 'dst_cluster', op: 'eq', value: 'web-gke' }], limit: 5 });
  const shownSeries = await rowsOf(page, 'series-table');
  assert.equal(shownSeries.length, byDst.rows.length);
  for (const [i, row] of byDst.rows.entries()) {
    const s = await api<SeriesAnswer>('/v1/query/timeseries', { from: r.from, to: r.to, metric: 'bytes', filters: [{ dimension: 'dst_cluster', op: 'eq', value: 'web-gke' }, { dimension: 'dst_workload', op: 'eq', value: row.key.dst_workload ?? null }] });
    const total = s.points.reduce((a, p) => a + p.value, 0);
    assert.equal(shownSeries[i]!.key, String(row.key.dst_workload ?? '(null)'));
    assert.equal(Number(shownSeries[i]!.value), total, `series ${row.key.dst_workload}`);
  }
  assert.ok(await page.$('.chart canvas'), 'uPlot drew the chart');
  await page.screenshot({ path: screenshotPath('series-1280x800') });

  // Flow explorer: the first two pages (the API's cursor) and one row's fields
  await go(page, 'flows');
  await settled(page, '[data-testid=flows-table]');
  const q = { from: r.from, to: r.to, filters: [{ dimension: 'dst_cluster', op: 'eq', value: 'web-gke' }], limit: 50, order: 'desc' };
  const first = await api<FlowsAnswer>('/v1/query/flows', q);
  const ids = () => page.$$eval('[data-testid=flows-table] tbody tr[data-id]', (trs) => trs.map((t) => [(t as HTMLElement).dataset.id, Number((t as HTMLElement).dataset.bytes)]));
  assert.deepEqual(await ids(), first.rows.map((f) => [f.id, f.bytes]));
  await page.click('[data-testid=flows-table] tbody tr[data-id] button');
  await page.waitForSelector('[data-testid=flow-fields]');
  const fieldsText = await page.$eval('[data-testid=flow-fields]', (e) => e.textContent ?? '');
  assert.ok(fieldsText.includes('web-gke'), 'the destination end\'s Kubernetes fields');
  const cloudField = Object.entries(first.rows[0]!.fields).find(([, v]) => v !== null && v !== '');
  assert.ok(cloudField && fieldsText.includes(cloudField[0]), `the record's cloud fields (${cloudField?.[0]})`);
  await page.screenshot({ path: screenshotPath('flows-1280x800') });
  assert.ok(first.next, 'more than one page of flows');
  await page.click('.pager button:last-child');
  await page.waitForFunction(() => document.querySelector('[data-testid=flows-page]')?.textContent === 'page 2');
  await settled(page, '[data-testid=flows-table]');
  const second = await api<FlowsAnswer>('/v1/query/flows', { ...q, cursor: first.next });
  await page.waitForFunction((id) => document.querySelector('[data-testid=flows-table] tbody tr[data-id]')?.getAttribute('data-id') === id, {}, second.rows[0]!.id);
  assert.deepEqual(await ids(), second.rows.map((f) => [f.id, f.bytes]));

  // Pipeline health: the embedded figures and the unattributed share per cluster
  await page.click('.chip button');
  await page.waitForFunction(() => document.querySelectorAll('.chip').length === 0);
  await go(page, 'health');
  await settled(page, '[data-testid=health-unattributed]');
  await page.waitForSelector('[data-testid=health-sources] tbody tr');
  const health = await api<PipelineHealth>('/v1/pipeline/health');
  const shownSources = await page.$$eval('[data-testid=health-sources] tbody tr', (trs) => trs.map((t) => Number((t as HTMLElement).dataset.records)));
  assert.deepEqual(shownSources, health.sources.map((s) => s.records));
  // one row per configured source (the samples: one per cloud), their flows all the tenant's flows of the range
  assert.deepEqual(health.sources.map((s) => s.cloud).sort(), ['aws', 'azure', 'gcp']);
  const allFlows = await api<TopNAnswer>('/v1/query/topn', { from: r.from, to: r.to, metric: 'flows', dimensions: ['action'], filters: [], limit: 10 });
  assert.equal(health.sources.reduce((a, s) => a + (s.records ?? 0), 0), allFlows.rows.reduce((a, x) => a + x.value, 0));
  assert.ok(health.sources.every((s) => s.lagSeconds !== null && s.lagSeconds > 0));
  const clusters = unattributedShare(await api<TopNAnswer>('/v1/query/topn', { from: r.from, to: r.to, metric: 'flows', dimensions: ['src_cluster', 'dst_cluster'], filters: [], limit: 1000 }));
  const shownShare = await page.$$eval('[data-testid=health-unattributed] tbody tr', (trs) => trs.map((t) => [(t as HTMLElement).dataset.key, Number((t as HTMLElement).dataset.flows), Number((t as HTMLElement).dataset.unattributed)]));
  assert.deepEqual(shownShare, clusters.map((c) => [c.cluster, c.flows, c.unattributed]));
  assert.deepEqual(clusters.map((c) => c.cluster), ['shop-eks', 'store-aks', 'web-gke']);
  const enricher = await page.$$eval('[data-testid=health-enricher] tr', (trs) => Object.fromEntries(trs.map((t) => [(t as HTMLElement).dataset.key, Number((t as HTMLElement).dataset.value)])));
  assert.equal(enricher.attributedEnds, health.enricher?.attributedEnds);
  await page.screenshot({ path: screenshotPath('health-1280x800'), fullPage: true });

  assert.deepEqual(problems, [], 'no console error and no CSP violation');
  await page.close();
});

test('the console is used with the keyboard alone', { timeout: 180_000 }, async () => {
  const { page, problems } = await signedIn(1280, 800);
  await settled(page, '[data-testid=map-summary]');
  // Alt+2: Top talkers
  await page.keyboard.down('Alt');
  await page.keyboard.press('2');
  await page.keyboard.up('Alt');
  await page.waitForSelector('main[data-page=top]');
  await settled(page, '[data-testid=top-table]');
  // Tab from the top of the page: the skip link first, then the page links in order
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  const order: string[] = [];
  for (let i = 0; i < 5; i++) {
    await page.keyboard.press('Tab');
    order.push(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.page ?? ''));
  }
  assert.deepEqual(order, ['map', 'top', 'series', 'flows', 'health']);
  // back to Time series with Shift+Tab and Enter
  await page.keyboard.down('Shift');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.up('Shift');
  assert.equal(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.page), 'series');
  await page.keyboard.press('Enter');
  await page.waitForSelector('main[data-page=series]');
  // Map: the heaviest edge, selected from the edge list with the keyboard, opens its details
  await page.keyboard.down('Alt');
  await page.keyboard.press('1');
  await page.keyboard.up('Alt');
  await settled(page, '[data-testid=map-edges]');
  await page.focus('[data-testid=map-edges] tbody tr:first-child td.num button');
  await page.keyboard.press('Enter');
  await settled(page, '[data-testid=map-details]');
  await page.waitForSelector('[data-testid=details-ports]');
  // a drill-down from the details, by keyboard: the row's filter button adds chips
  await page.focus('[data-testid=details-ports] tbody tr:first-child button.drill');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.chip[data-filter^="dst_port~eq~"]');
  // and the chip goes with Enter on its remove button
  await page.focus('.chip[data-filter^="dst_port~eq~"] button');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => !document.querySelector('.chip[data-filter^="dst_port~eq~"]'));
  assert.deepEqual(problems, []);
  await page.close();
});

test('every page renders at 1280x800 and at 390x844 without a horizontal scroll, screenshots saved', { timeout: 240_000 }, async () => {
  for (const [w, h] of [[1280, 800], [390, 844]] as const) {
    const { page, problems } = await signedIn(w, h);
    for (const p of ['map', 'top', 'series', 'flows', 'health']) {
      await go(page, p);
      await settled(page, { map: '[data-testid=map-summary]', top: '[data-testid=top-table]', series: '[data-testid=series-table]', flows: '[data-testid=flows-table]', health: '[data-testid=health-unattributed]' }[p]!);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `${p} at ${w}x${h}: ${overflow} px wider than the window`);
      // and readable: a table scrolls sideways inside its block rather than wrapping a cell a letter a line
      const tallest = await page.evaluate(() => Math.max(0, ...[...document.querySelectorAll('table.top td, table.top th')].map((c) => c.getBoundingClientRect().height)));
      assert.ok(tallest <= 80, `${p} at ${w}x${h}: a table cell is ${tallest} px tall (its text wrapped)`);
      await page.screenshot({ path: screenshotPath(`${p}-${w}x${h}${w === 1280 ? '-full' : ''}`), fullPage: true });
    }
    assert.deepEqual(problems, [], `${w}x${h}`);
    await page.close();
  }
  // after every page of every test: the token the console sent on each request is in no log line of the api
  assert.ok(!sl.stderr().includes(sl.token), 'no token in the process\'s logs');
});
