// Admin pages: the folder picker's "Use" links fill in the rule's folder without leaving
// the page (without script they reload the form with ?path=, which works too).
document.addEventListener("click", function (event) {
  const link = event.target.closest("[data-pick-path]");
  const input = document.getElementById("path");
  if (!link || !input) {
    return;
  }
  event.preventDefault();
  input.value = link.dataset.pickPath;
  input.focus();
});
