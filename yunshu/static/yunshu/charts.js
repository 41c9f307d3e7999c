// Charts read their numbers from a json_script block next to them.
(function () {
  function data(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    var parsed = JSON.parse(el.textContent);
    return typeof parsed === "string" ? JSON.parse(parsed) : parsed;
  }
  function barChart(targetId, dataId) {
    var target = document.getElementById(targetId);
    var d = data(dataId);
    if (!target || !d || !window.echarts) return;
    var chart = echarts.init(target);
    chart.setOption({
      grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: {
        type: "category",
        data: d.names,
        // Long cluster names are cut on a phone, so the bars keep their room.
        axisLabel: { width: target.clientWidth < 500 ? 90 : 220, overflow: "truncate" },
      },
      series: [{ type: "bar", data: d.values, itemStyle: { color: "#206bc4" } }],
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  barChart("chart-by-cluster", "chart-by-cluster-data");
})();
