"""The agent desktop: server-rendered pages (Jinja2, autoescaped), one small script per page, live
updates by server-sent events (docs/desk.md)."""
