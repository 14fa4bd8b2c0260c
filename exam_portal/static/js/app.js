// Ask before destructive actions: any form with data-confirm (or a submit button with
// it, asked only when that button sends the form) needs a "yes" first.
// In the question, {count} is the number of ticked boxes (but [data-confirm-skip]) and
// {choice} the option chosen in the form's select[data-confirm-choice], so the question
// says what happens.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var button = event.submitter;
  var question = (button && button.getAttribute("data-confirm"))
    || (form.getAttribute && form.getAttribute("data-confirm"));
  if (!question) { return; }
  var choice = form.querySelector("select[data-confirm-choice]");
  question = question
    .replace("{count}",
             form.querySelectorAll("input[type=checkbox]:checked:not([data-confirm-skip])").length)
    .replace("{choice}", choice ? choice.options[choice.selectedIndex].text : "");
  if (!window.confirm(question)) {
    event.preventDefault();
  }
});

// Long work behind a form (building exam forms): once it is sent, say so and keep the
// button from being pressed again. Registered after the confirmation above.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (event.defaultPrevented || !form.getAttribute || !form.getAttribute("data-busy")) { return; }
  var button = form.querySelector("button[type=submit]");
  if (button) {
    button.disabled = true;
    button.textContent = form.getAttribute("data-busy");
  }
});

// A "print" button (the admission ticket): inline handlers are not allowed by the CSP.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-action=print]");
  if (button) { window.print(); }
});

// A background job's page: poll its progress, and reload once it has finished so the
// summary shows. Without JavaScript the page refreshes itself (<noscript> meta).
document.addEventListener("DOMContentLoaded", function () {
  var box = document.querySelector("[data-job-progress]");
  if (!box) { return; }
  var url = box.getAttribute("data-job-progress");
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (!job) { return; }
        if (job.finished) { window.location.reload(); return; }
        box.querySelector("progress").value = job.percent;
        box.querySelector("[data-job-percent]").textContent = job.percent;
        box.querySelector("[data-job-phase]").textContent = job.phase;
        var label = document.querySelector("[data-job-label]");
        if (label) { label.textContent = job.label; }
      })
      .catch(function () { /* offline for a moment: try again on the next tick */ })
      .finally(function () { window.setTimeout(poll, 1500); });
  }
  window.setTimeout(poll, 1000);
});

// A table (or list) wider or taller than its box scrolls: it becomes a tab stop, so
// that a keyboard user can scroll it with the arrow keys (WCAG 2.1.1). Only while it
// scrolls: a table that fits is no extra stop.
function markScrollingBoxes() {
  document.querySelectorAll(".table-responsive, .chapter-list").forEach(function (box) {
    var scrolls = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
    if (scrolls) { box.setAttribute("tabindex", "0"); } else { box.removeAttribute("tabindex"); }
  });
}
document.addEventListener("DOMContentLoaded", markScrollingBoxes);
window.addEventListener("resize", markScrollingBoxes);

// The area picker: with scripts, the box for the code of an area inside the chosen
// province becomes two lists (prefectures and the counties the province governs
// directly, then a prefecture's counties); the box, now hidden, keeps the deepest
// choice, which is what the form sends.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-area-picker]").forEach(function (picker) {
    var province = picker.querySelector("[data-area-province]");
    var box = picker.querySelector("[data-area-detail]");
    var input = box.querySelector("input");
    var url = picker.getAttribute("data-children-url");
    var initial = input.value;
    box.querySelectorAll("label, .form-text").forEach(function (node) { node.hidden = true; });
    input.type = "hidden";
    var row = document.createElement("div");
    row.className = "d-flex flex-wrap gap-2";
    box.appendChild(row);
    function list(label) {
      var select = document.createElement("select");
      select.className = "form-select form-select-sm w-auto";
      select.setAttribute("aria-label", label);
      select.hidden = true;
      row.appendChild(select);
      return select;
    }
    var upper = list(picker.getAttribute("data-label-upper") || "");
    var lower = list(picker.getAttribute("data-label-lower") || "");
    var whole = picker.getAttribute("data-label-whole") || "—";
    function fill(select, parent, chosen, then) {
      select.hidden = true;
      select.innerHTML = "";
      if (!parent) { return; }
      fetch(url.replace("000000", parent), { headers: { "Accept": "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (areas) {
          if (!areas.length) { return; }
          select.add(new Option(whole, ""));
          areas.forEach(function (area) { select.add(new Option(area.name, area.code)); });
          select.value = chosen && select.querySelector("option[value='" + chosen + "']") ? chosen : "";
          select.hidden = false;
          if (then) { then(); }
        });
    }
    province.addEventListener("change", function () {
      input.value = "";
      lower.hidden = true;
      fill(upper, province.value);
    });
    upper.addEventListener("change", function () {
      input.value = upper.value;
      lower.hidden = true;
      if (upper.value) { fill(lower, upper.value); }
    });
    lower.addEventListener("change", function () {
      input.value = lower.value || upper.value;
    });
    // A stored county shows under its prefecture, or directly under its province.
    var prefecture = initial && initial.slice(4) !== "00" ? initial.slice(0, 4) + "00" : initial;
    fill(upper, province.value, prefecture, function () {
      if (!initial) { return; }
      if (upper.value === prefecture && prefecture !== initial) {
        fill(lower, prefecture, initial);
      } else if (!upper.value) {
        upper.value = initial;
      }
    });
  });
});
