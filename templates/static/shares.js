// Share pages: a "Copy link" button, and a message while a PDF is being made.
// Progressive: without JavaScript the link is in a text box to copy, and downloads work as links.
(function () {
  document.querySelectorAll("button.cp-copy-link").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    var status = document.getElementById("share-link-status");
    if (!input || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(function () {
        if (status) { status.textContent = "The link is copied. Paste it into a message or email."; }
      }, function () {
        input.select();
        if (status) { status.textContent = "Select the link and copy it."; }
      });
    });
  });
  var pdfStatus = document.getElementById("pdf-status");
  document.querySelectorAll("a[data-cp-pdf]").forEach(function (link) {
    link.addEventListener("click", function () {
      if (!pdfStatus) { return; }
      pdfStatus.textContent = "Making your PDF. This can take a few seconds; it will download when it is ready.";
      window.setTimeout(function () { pdfStatus.textContent = ""; }, 15000);
    });
  });
})();
