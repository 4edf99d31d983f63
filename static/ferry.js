// Ferry's few lines of page script (CSP forbids inline script).
// Confirm buttons: <button data-confirm="Delete these 3 items?">.
document.addEventListener("click", function (event) {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});
