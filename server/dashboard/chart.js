// A moving line chart on a canvas: one sample per second per series, the last `span` samples,
// newest on the right, the y axis scaled to the largest value shown.

const PAD = { left: 48, right: 10, top: 10, bottom: 22 };

function niceMax(v) {
  if (v <= 4) return 4;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function short(v) {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return String(+v.toFixed(1));
}

export class RateChart {
  /** `series`: [{name, color}]; `span`: samples kept (seconds). */
  constructor(canvas, series, span = 60) {
    this.canvas = canvas;
    this.series = series.map((s) => ({ ...s, values: [] }));
    this.span = span;
  }

  /** Appends one sample: a value per series, in the constructor's order. */
  push(values) {
    this.series.forEach((s, i) => {
      s.values.push(Math.max(0, values[i] ?? 0));
      if (s.values.length > this.span) s.values.shift();
    });
    this.draw();
  }

  draw() {
    const c = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const w = c.clientWidth;
    const h = c.clientHeight;
    if (c.width !== Math.round(w * ratio) || c.height !== Math.round(h * ratio)) {
      c.width = Math.round(w * ratio);
      c.height = Math.round(h * ratio);
    }
    const g = c.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    const style = getComputedStyle(c);
    const ink = style.getPropertyValue('--chart-ink').trim() || '#888';
    const grid = style.getPropertyValue('--chart-grid').trim() || '#ddd';
    const plotW = w - PAD.left - PAD.right;
    const plotH = h - PAD.top - PAD.bottom;
    let top = 0;
    for (const s of this.series) for (const v of s.values) top = Math.max(top, v);
    top = niceMax(top);
    g.font = '11px system-ui, sans-serif';
    g.lineWidth = 1;
    g.textBaseline = 'middle';
    for (let i = 0; i <= 4; i++) {
      const y = PAD.top + plotH - (plotH * i) / 4;
      g.strokeStyle = grid;
      g.beginPath();
      g.moveTo(PAD.left, Math.round(y) + 0.5);
      g.lineTo(PAD.left + plotW, Math.round(y) + 0.5);
      g.stroke();
      g.fillStyle = ink;
      g.textAlign = 'right';
      g.fillText(short((top * i) / 4), PAD.left - 6, y);
    }
    g.textAlign = 'center';
    g.textBaseline = 'top';
    for (const sec of [60, 45, 30, 15, 0]) {
      if (sec > this.span) continue;
      const x = PAD.left + plotW - (plotW * sec) / this.span;
      g.fillText(sec === 0 ? 'now' : `-${sec}s`, x, PAD.top + plotH + 6);
    }
    const step = plotW / this.span;
    g.lineWidth = 2;
    g.lineJoin = 'round';
    for (const s of this.series) {
      if (s.values.length === 0) continue;
      g.strokeStyle = s.color;
      g.beginPath();
      s.values.forEach((v, i) => {
        const x = PAD.left + plotW - (s.values.length - 1 - i) * step;
        const y = PAD.top + plotH - (plotH * v) / top;
        if (i === 0) g.moveTo(x, y);
        else g.lineTo(x, y);
      });
      g.stroke();
    }
  }
}
