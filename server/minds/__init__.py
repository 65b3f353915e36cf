"""Minds: where decisions come from (scripts, language models, bots) and how they are traced."""
