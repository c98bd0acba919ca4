// Small progressive enhancements for the member portal. Every page works without this file.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="#input-id">. Hidden until this script runs.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var target = document.querySelector(button.getAttribute("data-copy"));
    if (!target) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = target.value || target.textContent;
      var done = function () {
        var label = button.textContent;
        button.textContent = "Copied!";
        setTimeout(function () { button.textContent = label; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { target.select(); });
      } else {
        target.select();
        try { document.execCommand("copy"); done(); } catch (e) { /* the text stays selected */ }
      }
    });
  });

  // Filters that apply as soon as they change: the submit button is only needed without script.
  document.querySelectorAll("[data-autosubmit-hide]").forEach(function (button) {
    var form = button.form;
    if (!form) return;
    button.hidden = true;
    form.addEventListener("change", function () { form.submit(); });
  });
})();
