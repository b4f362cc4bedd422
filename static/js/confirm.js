// Ask before a form marked data-confirm (delete) is sent; the question is already in the page's language.
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
