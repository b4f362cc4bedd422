"""The web process's side: pages, the API, forms, reads (selectors), writes (services), input checks."""
