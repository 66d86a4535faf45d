import { useEffect, useState } from 'preact/hooks';
import { useApp } from './context.js';
import type { Filter } from './view.js';

const PRESETS: [string, string][] = [
  ['now-15m', 'Last 15 minutes'],
  ['now-1h', 'Last hour'],
  ['now-6h', 'Last 6 hours'],
  ['now-24h', 'Last 24 hours'],
  ['now-7d', 'Last 7 days'],
  ['now-30d', 'Last 30 days'],
];

/** One time range for every page: a preset, or from/to typed as `now-2h`, ISO times or epoch ms. */
export function TimeRange(props: { onRefresh(): void }) {
  const { view, setView, range } = useApp();
  const [from, setFrom] = useState(view.from);
  const [to, setTo] = useState(view.to);
  useEffect(() => {
    setFrom(view.from);
    setTo(view.to);
  }, [view.from, view.to]);
  const preset = view.to === 'now' && PRESETS.some(([p]) => p === view.from) ? view.from : '';
  return (
    <form
      class="range"
      aria-label="Time range"
      onSubmit={(e) => {
        e.preventDefault();
        setView({ ...view, from: from.trim(), to: to.trim() });
      }}
    >
      <label>
        Range{' '}
        <select value={preset} onChange={(e) => setView({ ...view, from: e.currentTarget.value || view.from, to: 'now' })} aria-label="Preset range">
          <option value="">custom</option>
          {PRESETS.map(([v, t]) => (
            <option value={v}>{t}</option>
          ))}
        </select>
      </label>
      <label>
        from <input name="from" size={22} value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
      </label>
      <label>
        to <input name="to" size={22} value={to} onInput={(e) => setTo(e.currentTarget.value)} />
      </label>
      <button type="submit">Apply</button>
      <button type="button" onClick={props.onRefresh} title="Ask again, with now as of this moment">Refresh</button>
      <span class="resolved" data-from={range.from} data-to={range.to}>
        {new Date(range.from).toISOString().replace('.000Z', 'Z')} → {new Date(range.to).toISOString().replace('.000Z', 'Z')}
      </span>
    </form>
  );
}

/** One filter bar for every page: `dimension op value[,value]`, each a removable chip. */
export function FilterBar() {
  const { view, setView, shape } = useApp();
  const [dimension, setDimension] = useState(shape.dimensions[0] ?? '');
  const [op, setOp] = useState(shape.ops[0]?.op ?? 'eq');
  const [value, setValue] = useState('');
  const remove = (i: number) => setView({ ...view, filters: view.filters.filter((_, j) => j !== i) });
  return (
    <div class="filters">
      <ul aria-label="Filters">
        {view.filters.map((f, i) => (
          <li class="chip" data-filter={`${f.dimension}~${f.op}~${f.values.join(',')}`}>
            <span>
              {f.dimension} {f.op} {f.values.join(', ')}
            </span>
            <button type="button" aria-label={`Remove filter ${f.dimension} ${f.op} ${f.values.join(', ')}`} onClick={() => remove(i)}>
              ×
            </button>
          </li>
        ))}
      </ul>
      <form
        class="addfilter"
        aria-label="Add a filter"
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim() === '') return;
          const many = shape.ops.find((o) => o.op === op)?.many ?? false;
          const values = many ? value.split(',').map((v) => v.trim()).filter((v) => v !== '') : [value.trim()];
          setView({ ...view, filters: [...view.filters, { dimension, op, values }] });
          setValue('');
        }}
      >
        <select aria-label="Filter dimension" value={dimension} onChange={(e) => setDimension(e.currentTarget.value)}>
          {shape.dimensions.map((d) => (
            <option value={d}>{d}</option>
          ))}
        </select>
        <select aria-label="Filter operator" value={op} onChange={(e) => setOp(e.currentTarget.value)}>
          {shape.ops.map((o) => (
            <option value={o.op}>{o.op}</option>
          ))}
        </select>
        <input aria-label="Filter value" placeholder="value (a,b for lists; (null))" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        <button type="submit">Add filter</button>
      </form>
    </div>
  );
}

/** Adds `dimension eq value` (drill-down from a table row or the map). */
export function withFilter(filters: Filter[], f: Filter): Filter[] {
  return filters.some((x) => x.dimension === f.dimension && x.op === f.op && x.values.join() === f.values.join()) ? filters : [...filters, f];
}
