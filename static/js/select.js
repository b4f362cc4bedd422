// Inputs marked data-select-on-focus (the API token, the webhook secret) select their text when focused,
// ready to copy; an inline onfocus handler would be refused by the site's CSP.
document.addEventListener("focusin", (event) => {
  if (event.target.matches && event.target.matches("input[data-select-on-focus]")) event.target.select();
});
