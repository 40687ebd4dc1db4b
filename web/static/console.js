// The console's own script: upload progress. Everything works without it (plain form posts).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
  document.querySelectorAll("form[data-progress]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.XMLHttpRequest) { return; }
      event.preventDefault();
      var bar = form.querySelector("progress");
      var note = form.querySelector(".progress-note");
      var button = form.querySelector("button[type=submit]");
      if (bar) { bar.hidden = false; bar.value = 0; }
      if (note) { note.hidden = false; }
      if (button) { button.disabled = true; }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (e) {
        if (bar && e.lengthComputable) { bar.value = Math.round((e.loaded / e.total) * 100); }
      });
      xhr.upload.addEventListener("load", function () { if (bar) { bar.removeAttribute("value"); } });
      xhr.addEventListener("load", function () {
        document.open();
        document.write(xhr.responseText);
        document.close();
        if (xhr.responseURL) { history.replaceState(null, "", xhr.responseURL); }
      });
      xhr.addEventListener("error", function () {
        if (button) { button.disabled = false; }
        if (note) { note.textContent = "上传失败，请检查网络后重试。"; }
      });
      xhr.send(new FormData(form));
    });
  });
});
