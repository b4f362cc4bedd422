"""Avatars on the web side: the pages and the services that write them."""
