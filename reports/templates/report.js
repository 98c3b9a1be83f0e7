/* Sorting and a text filter for every table marked "sortable". Progressive enhancement: the tables are
   complete and readable without this script. Only textContent is read or written (never innerHTML), so
   cell values from event data can never become markup. */
(function () {
  "use strict";

  function enhance(table) {
    var tbody = table.tBodies[0];
    if (!tbody || !table.tHead) { return; }
    var rows = Array.prototype.slice.call(tbody.rows);
    var haystacks = null;  // built on first use: large tables render first
    var tools = document.createElement("div");
    tools.className = "filter";
    var input = document.createElement("input");
    input.type = "search";
    input.placeholder = "Filter rows…";
    input.setAttribute("aria-label", "Filter this table");
    var count = document.createElement("span");
    count.className = "muted small";
    count.setAttribute("aria-live", "polite");
    tools.appendChild(input);
    tools.appendChild(count);
    var anchor = table.parentNode.classList.contains("table-scroll") ? table.parentNode : table;
    anchor.parentNode.insertBefore(tools, anchor);

    input.addEventListener("input", function () {
      if (haystacks === null) {
        haystacks = rows.map(function (row) { return row.textContent.toLowerCase(); });
      }
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      rows.forEach(function (row, i) {
        var hit = words.every(function (w) { return haystacks[i].indexOf(w) !== -1; });
        row.hidden = !hit;
        if (hit) { shown += 1; }
      });
      count.textContent = words.length ? shown + " of " + rows.length + " shown" : "";
    });

    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      var kind = th.getAttribute("data-sort-kind");
      if (!kind) { return; }
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) { cell.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var keyed = Array.prototype.map.call(tbody.rows, function (row, i) {
          var cell = row.cells[column];
          var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
          var key = kind === "num" ? (parseFloat(raw.replace(/,/g, "")) || 0) : raw.trim().toLowerCase();
          return { row: row, key: key, index: i };
        });
        keyed.sort(function (a, b) {
          if (a.key < b.key) { return ascending ? -1 : 1; }
          if (a.key > b.key) { return ascending ? 1 : -1; }
          return a.index - b.index;
        });
        var frag = document.createDocumentFragment();
        keyed.forEach(function (item) { frag.appendChild(item.row); });
        tbody.appendChild(frag);
      });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), enhance);
}());
