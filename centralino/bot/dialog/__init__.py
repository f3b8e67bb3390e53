"""Dialogs as data: flow.py (the YAML format, checked), engine.py (pure turn-by-turn execution), render.py
(a Say as channel content). docs/bot.md "Dialogs"."""
