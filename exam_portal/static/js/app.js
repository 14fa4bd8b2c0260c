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
