"use strict";
/* The page's data, as `--format json` prints it: a Promise of the parsed document. */
function cachekitData() {
  var el = document.getElementById("cachekit-data");
  if (el.type === "application/json") { return Promise.resolve(JSON.parse(el.textContent)); }
  var bin = atob(el.textContent.trim());
  var bytes = new Uint8Array(bin.length);
  for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
  var plain = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(plain).text().then(JSON.parse);
}
window.cachekitData = cachekitData;
(function () {
  var save = document.getElementById("save-json");
  if (save) {
    save.addEventListener("click", function () {
      cachekitData().then(function (doc) {
        var blob = new Blob([JSON.stringify(doc, null, 2) + "\n"], {type: "application/json"});
        var a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = save.getAttribute("data-name");
        a.click();
        setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
      });
    });
  }
})();
(function () {
  function key(cell) {
    var v = cell.getAttribute("data-v");
    return v === null ? cell.textContent.trim().toLowerCase() : parseFloat(v);
  }
  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") { return a - b; }
    return String(a).localeCompare(String(b), undefined, {numeric: true});
  }
  var tables = document.querySelectorAll("table.sortable");
  for (var t = 0; t < tables.length; t++) {
    (function (table) {
      var heads = table.tHead.rows[0].cells;
      for (var i = 0; i < heads.length; i++) {
        (function (th, col) {
          th.tabIndex = 0;
          var sort = function () {
            var down = th.getAttribute("aria-sort") === "ascending";
            for (var j = 0; j < heads.length; j++) { heads[j].removeAttribute("aria-sort"); }
            th.setAttribute("aria-sort", down ? "descending" : "ascending");
            var body = table.tBodies[0];
            var rows = Array.prototype.slice.call(body.rows);
            rows.sort(function (a, b) {
              var c = compare(key(a.cells[col]), key(b.cells[col]));
              return down ? -c : c;
            });
            var frag = document.createDocumentFragment();
            rows.forEach(function (r) { frag.appendChild(r); });
            body.appendChild(frag);
          };
          th.addEventListener("click", sort);
          th.addEventListener("keydown", function (e) {
            if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
          });
        })(heads[i], i);
      }
    })(tables[t]);
  }
})();
