"""On-demand services: HTTP calls to the business's systems (http.py). docs/bot.md "Services"."""
