// Marks the page as able to run JavaScript, so NHS.UK frontend components enhance;
// everything still works without it. Kept in a file: the CSP allows no inline script.
document.body.classList.add("js-enabled");
if ("noModule" in HTMLScriptElement.prototype) {
  document.body.classList.add("nhsuk-frontend-supported");
}
