// Radar of dimension scores and heat map of scene levels, from the json_script block.
(function () {
  var el = document.getElementById("assessment-chart-data");
  if (!el || !window.echarts) return;
  var d = JSON.parse(JSON.parse(el.textContent));
  var charts = [];
  var radarTarget = document.getElementById("chart-radar");
  if (radarTarget && d.radar) {
    var radar = echarts.init(radarTarget);
    radar.setOption({
      tooltip: {},
      radar: { indicator: d.radar.indicators, radius: "62%" },
      series: [{ type: "radar", data: [{ value: d.radar.values, name: "%" }], areaStyle: { opacity: 0.2 } }],
    });
    charts.push(radar);
  }
  var heatTarget = document.getElementById("chart-heatmap");
  if (heatTarget && d.heatmap) {
    var heat = echarts.init(heatTarget);
    var data = d.heatmap.levels.map(function (level, i) { return [0, i, level]; });
    heat.setOption({
      tooltip: { formatter: function (p) { return d.heatmap.scenes[p.value[1]] + ": " + (p.value[2] < 0 ? "N/A" : p.value[2]); } },
      grid: { left: 8, right: 8, top: 8, bottom: 40, containLabel: true },
      xAxis: { type: "category", data: [""], show: false },
      yAxis: { type: "category", data: d.heatmap.scenes, inverse: true },
      visualMap: {
        type: "piecewise", orient: "horizontal", left: "center", bottom: 0,
        pieces: [
          { value: -1, label: d.heatmap.labels.na, color: "#f1f3f5" },
          { value: 0, label: d.heatmap.labels.none, color: "#fca5a5" },
          { value: 1, label: "1", color: "#fcd34d" },
          { value: 2, label: "2", color: "#93c5fd" },
          { value: 3, label: "3", color: "#3b82f6" },
          { value: 4, label: "4", color: "#1e3a8a" },
        ],
      },
      series: [{ type: "heatmap", data: data, label: { show: true, formatter: function (p) { return p.value[2] < 0 ? "—" : p.value[2]; } } }],
    });
    charts.push(heat);
  }
  window.yunshuCharts = charts;
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
