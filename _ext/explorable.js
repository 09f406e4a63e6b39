// Draws the book's explorable figures (lossbook/explore.py) with Chart.js, which is bundled
// before this script in _static/lossbook-explorable.js, loaded only by pages that have one.
// Each <figure class="lossbook-explorable"> holds its spec as JSON: titles, series, panels,
// controls with their settings, and the table by column. A control selects the table's rows
// of its setting (and those with no value for it, drawn at every setting); nothing is
// computed here. The static figure the chapter displays just
// before it is hidden once the charts are drawn (readers without JavaScript keep it).
// The charts are kept in window.lossbookCharts by figure id, so that the site's tests can
// read back what is drawn.
window.lossbookCharts = {};

(() => {
  function datasets(spec, setting, panel) {
    const data = spec.data, n = data[spec.x.field].length;
    const keep = i => spec.controls.every(c => data[c.name][i] === null || data[c.name][i] === setting[c.name]) &&
      (!spec.panels || data[spec.panels.field][i] === panel);
    return spec.series.values.map((series, k) => {
      const points = [];
      for (let i = 0; i < n; i++) {
        if (keep(i) && data[spec.series.field][i] === series) {
          points.push({x: data[spec.x.field][i], y: data[spec.y.field][i]});
        }
      }
      const color = spec.series.colors[k];
      return {label: series, data: points, borderColor: color, backgroundColor: color,
              borderWidth: 2, pointRadius: 0};
    });
  }

  function chart(canvas, spec, setting, panel, first) {
    return new Chart(canvas, {
      type: "line",
      data: {datasets: datasets(spec, setting, panel)},
      options: {
        animation: false, responsive: true, maintainAspectRatio: true, aspectRatio: 1.3,
        interaction: {mode: "nearest", intersect: false},
        scales: {
          x: {type: "linear", title: {display: true, text: spec.x.title}},
          y: {type: "linear", title: {display: true, text: spec.y.title}},
        },
        plugins: {title: {display: Boolean(panel), text: panel}, legend: {display: first, labels: {boxWidth: 14}}},
      },
    });
  }

  function control(c, setting, redraw) {
    const box = document.createElement("fieldset");
    box.className = "lossbook-explorable-control";
    const legend = document.createElement("legend");
    legend.textContent = c.label;
    box.append(legend);
    if (c.kind === "range") {
      const input = document.createElement("input");
      Object.assign(input, {type: "range", name: c.name, min: 0, max: c.settings.length - 1, step: 1,
                            value: c.settings.indexOf(setting[c.name])});
      input.setAttribute("aria-label", c.label);
      const shown = document.createElement("output");
      shown.textContent = setting[c.name];
      input.addEventListener("input", () => {
        setting[c.name] = c.settings[Number(input.value)];
        shown.textContent = setting[c.name];
        redraw();
      });
      box.append(input, shown);
    } else {
      for (const value of c.settings) {
        const label = document.createElement("label");
        const input = document.createElement("input");
        Object.assign(input, {type: "radio", name: c.name, value, checked: value === setting[c.name]});
        input.addEventListener("change", () => { setting[c.name] = value; redraw(); });
        label.append(input, " " + value);
        box.append(label);
      }
    }
    return box;
  }

  function draw(figure) {
    const spec = JSON.parse(figure.querySelector("script[type='application/json']").textContent);
    spec.data = JSON.parse(spec.table);  // the table by column, one JSON string
    for (const [name, column] of Object.entries(spec.data)) {  // names: stored once, by index
      if (column.levels) spec.data[name] = column.codes.map(c => (c === null ? null : column.levels[c]));
    }
    const setting = Object.fromEntries(spec.controls.map(c => [c.name, c.start]));
    const panels = spec.panels ? spec.panels.values : [null];
    const place = figure.querySelector(".lossbook-explorable-charts");
    place.style.maxWidth = `${panels.length * 420}px`;  // one panel does not fill a wide page
    if (spec.title) {
      const title = document.createElement("p");
      title.className = "lossbook-explorable-title";
      title.textContent = spec.title;
      place.before(title);
    }
    const charts = panels.map((panel, k) => {
      const canvas = document.createElement("canvas");
      const box = document.createElement("div");
      box.className = "lossbook-explorable-chart";
      box.append(canvas);
      place.append(box);
      return chart(canvas, spec, setting, panel, k === 0);
    });
    const redraw = () => charts.forEach((c, k) => {
      c.data.datasets = datasets(spec, setting, panels[k]);
      c.update();
    });
    const controls = figure.querySelector(".lossbook-explorable-controls");
    spec.controls.forEach(c => controls.append(control(c, setting, redraw)));
    window.lossbookCharts[figure.id] = charts;
    const output = figure.closest(".cell_output");
    if (output) output.querySelectorAll("img").forEach(img => { if (!img.closest(".lossbook-explorable")) img.hidden = true; });
    figure.classList.add("lossbook-explorable-ready");
  }

  document.addEventListener("DOMContentLoaded", () => document.querySelectorAll(".lossbook-explorable").forEach(draw));
})();
