"""The frontend's routers: health, pages, sign-up/in/out and the JSON API for the page."""
