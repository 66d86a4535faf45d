import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatValue } from './view.js';

export interface Series {
  label: string;
  points: { t: number; value: number }[];
}

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/** A time series chart (uPlot, canvas): one line per series over the union of their buckets. */
export function Chart(props: { series: Series[]; metric: string; height?: number; title: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ts = [...new Set(props.series.flatMap((s) => s.points.map((p) => p.t)))].sort((a, b) => a - b);
    const data: uPlot.AlignedData = [
      ts.map((t) => t / 1000),
      ...props.series.map((s) => {
        const m = new Map(s.points.map((p) => [p.t, p.value]));
        return ts.map((t) => m.get(t) ?? 0);
      }),
    ];
    const width = () => Math.max(240, el.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: props.height ?? 240,
        series: [{}, ...props.series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 1.5, value: (_u: uPlot, v: number | null) => (v === null ? '' : formatValue(props.metric, v)) }))],
        axes: [{}, { values: (_u: uPlot, vs: number[]) => vs.map((v) => formatValue(props.metric, v)), size: 70 }],
        legend: { show: props.series.length > 0 },
      },
      data,
      el,
    );
    const ro = new ResizeObserver(() => plot.setSize({ width: width(), height: props.height ?? 240 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [JSON.stringify(props.series), props.metric]);
  return <div class="chart" ref={box} role="img" aria-label={props.title} />;
}
