// Ask before destructive actions: any form with data-confirm needs a "yes" first.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A "print" button (the admission ticket): inline handlers are not allowed by the CSP.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-action=print]");
  if (button) { window.print(); }
});
