/* Sorting and a text filter for the findings table. Progressive enhancement: the table is complete
   and readable without this script. Only textContent is read or written (never innerHTML), so cell
   values from event data can never become markup. */
(function () {
  "use strict";
  var table = document.getElementById("findings-table");
  if (!table) { return; }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var tools = document.getElementById("findings-tools");
  var filter = document.getElementById("findings-filter");
  var count = document.getElementById("findings-count");
  var haystacks = rows.map(function (row) { return row.textContent.toLowerCase(); });

  function applyFilter() {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    rows.forEach(function (row, i) {
      var hit = words.every(function (w) { return haystacks[i].indexOf(w) !== -1; });
      row.hidden = !hit;
      if (hit) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " shown";
  }

  function sortBy(th, column, kind) {
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
      cell.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var keyed = Array.prototype.map.call(tbody.rows, function (row, i) {
      var cell = row.cells[column];
      var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
      var key = kind === "num" ? (parseFloat(raw) || 0) : raw.trim().toLowerCase();
      return { row: row, key: key, index: i };
    });
    keyed.sort(function (a, b) {
      if (a.key < b.key) { return ascending ? -1 : 1; }
      if (a.key > b.key) { return ascending ? 1 : -1; }
      return a.index - b.index;
    });
    keyed.forEach(function (item) { tbody.appendChild(item.row); });
  }

  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
    var kind = th.getAttribute("data-sort-kind");
    if (!kind) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = th.textContent;
    th.textContent = "";
    th.appendChild(button);
    button.addEventListener("click", function () { sortBy(th, column, kind); });
  });

  tools.hidden = false;
  filter.addEventListener("input", applyFilter);
  applyFilter();
}());
