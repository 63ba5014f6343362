// Live updates: listen to /events/stream and offer a reload when the store
// has new data (a new batch, alert or device) since this page was rendered.
(function () {
  "use strict";
  var body = document.body;
  var rendered = body.dataset.marker;
  if (!rendered || !window.EventSource) { return; }
  var banner = document.getElementById("live");
  var text = document.getElementById("live-text");
  var reload = document.getElementById("live-reload");
  reload.addEventListener("click", function (e) { e.preventDefault(); window.location.reload(); });
  var es = new EventSource("/events/stream");
  // Close the stream when leaving the page: browsers allow only a few
  // connections per server, and a page kept in the back/forward cache
  // would otherwise hold one open.
  window.addEventListener("pagehide", function () { es.close(); });
  es.addEventListener("change", function (ev) {
    var m;
    try { m = JSON.parse(ev.data); } catch (_) { return; }
    var key = [m.batch_id, m.max_alert_id, m.devices, m.open_alerts].join("-");
    if (key === rendered) { return; }
    text.textContent = "New data: " + m.open_alerts + " new alert(s), " + m.devices + " device(s).";
    banner.hidden = false;
  });
})();
