/**
 * The report page's own script (plain browser JavaScript, inlined): starts the terminal
 * player on the embedded recording and lets the reader zoom and pan the timeline. It reads
 * only the page's embedded JSON; it loads nothing.
 */
export const CLIENT_SCRIPT = String.raw`(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("vmmux-data").textContent);
  var playerBox = document.getElementById("player");
  var player = null;
  try {
    if (typeof AsciinemaPlayer === "undefined") throw new Error("player script missing");
    player = AsciinemaPlayer.create({ data: data.cast }, playerBox, {
      fit: "width",
      controls: true,
      poster: "npt:" + data.posterAt,
      terminalFontSize: "small",
    });
  } catch (error) {
    playerBox.textContent = "the terminal player could not start (" + error.message + "); the text is below.";
  }

  var svg = document.getElementById("timeline-lanes");
  if (!svg) return;
  var tl = data.timeline;
  var zoom = document.getElementById("tl-zoom");
  var pan = document.getElementById("tl-pan");
  var axis = document.getElementById("timeline-axis");
  var view = document.getElementById("tl-view");
  var bars = Array.prototype.slice.call(svg.querySelectorAll("rect[data-w]"));

  function fmt(s) {
    var m = Math.abs(s);
    function f(v, u) { return Number(v.toPrecision(4)) + " " + u; }
    if (m === 0) return "0 s";
    if (m >= 1) return f(s, "s");
    if (m >= 1e-3) return f(s * 1e3, "ms");
    if (m >= 1e-6) return f(s * 1e6, "\u00b5s");
    return f(s * 1e9, "ns");
  }
  function ticks(a, b, n) {
    var span = b - a;
    if (!(span > 0)) return [a];
    var raw = span / n;
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 5, 10].map(function (k) { return k * p; }).find(function (s) { return s >= raw; });
    var out = [];
    for (var t = Math.ceil(a / step) * step; t <= b + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
    return out;
  }
  function update() {
    var factor = Math.pow(2, Number(zoom.value));
    var w = tl.width / factor;
    var x0 = (tl.width - w) * Number(pan.value) / 1000;
    svg.setAttribute("viewBox", x0 + " 0 " + w + " " + tl.height);
    var dur = tl.end - tl.start;
    var t0 = tl.start + (x0 / tl.width) * dur;
    var t1 = tl.start + ((x0 + w) / tl.width) * dur;
    axis.textContent = "";
    ticks(t0, t1, 8).forEach(function (t) {
      var mark = document.createElement("span");
      var left = 100 * (t - t0) / (t1 - t0);
      mark.className = left > 92 ? "tick end" : "tick";
      mark.style.left = left + "%";
      mark.textContent = fmt(t);
      axis.appendChild(mark);
    });
    view.textContent = fmt(t0) + " \u2013 " + fmt(t1) + " (x" + factor + ")";
    view0 = t0;
    view1 = t1;
    pan.disabled = factor === 1;
    var unitsPerPixel = w / Math.max(1, svg.getBoundingClientRect().width);
    var minWidth = 1.5 * unitsPerPixel;
    if (playhead) playhead.setAttribute("width", String(minWidth));
    bars.forEach(function (bar) {
      bar.setAttribute("width", String(Math.max(Number(bar.getAttribute("data-w")), minWidth)));
    });
  }
  // A view can be linked: report.html#zoom=3&pan=250&arrows=1 (zoom 0-6 as a power of two, pan 0-1000).
  var linked = new URLSearchParams(location.hash.slice(1));
  if (linked.has("zoom")) zoom.value = linked.get("zoom");
  if (linked.has("pan")) pan.value = linked.get("pan");
  // The terminal and the timeline share one clock (virtual seconds): a click on the timeline
  // seeks the player there, and a playhead follows the player.
  var playhead = document.getElementById("timeline-playhead");
  var view0 = tl.start;
  var view1 = tl.end;
  svg.addEventListener("click", function (event) {
    if (!player) return;
    var box = svg.getBoundingClientRect();
    var t = view0 + ((event.clientX - box.left) / box.width) * (view1 - view0);
    player.seek(Math.max(0, t));
  });
  setInterval(function () {
    if (!player || !playhead) return;
    var t = player.getCurrentTime();
    if (typeof t !== "number") return;
    playhead.setAttribute("x", String(((t - tl.start) / (tl.end - tl.start || 1)) * tl.width));
  }, 200);
  var arrowsBox = document.getElementById("tl-arrows");
  if (arrowsBox) {
    arrowsBox.addEventListener("change", function () {
      document.getElementById("timeline-arrows").setAttribute("display", arrowsBox.checked ? "inline" : "none");
    });
    if (linked.get("arrows") === "1") {
      arrowsBox.checked = true;
      document.getElementById("timeline-arrows").setAttribute("display", "inline");
    }
  }
  zoom.addEventListener("input", update);
  pan.addEventListener("input", update);
  window.addEventListener("resize", update);
  update();
})();`;
