/**
 * Apache ECharts, only the parts the console draws (bar charts on a canvas), so that
 * the bundle stays small.
 */
import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

/** A bar chart in `el`: `categories` along x, one bar series per `{name, data}`. */
export function barChart(el, categories, series, { horizontal = false } = {}) {
  const chart = echarts.getInstanceByDom(el) || echarts.init(el, null, { renderer: 'canvas' });
  const category = { type: 'category', data: categories, axisLabel: { interval: 0, rotate: horizontal ? 0 : 30 } };
  const value = { type: 'value' };
  chart.setOption(
    {
      animation: false,
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: horizontal ? 140 : 40, right: 16, top: 32, bottom: horizontal ? 24 : 70 },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? category : value,
      series: series.map((s) => ({ type: 'bar', name: s.name, data: s.data })),
    },
    true,
  );
  return chart;
}

/** Disposes the charts in `root` (before the page goes). */
export function disposeCharts(root) {
  root.querySelectorAll('[_echarts_instance_]').forEach((el) => echarts.getInstanceByDom(el)?.dispose());
}
